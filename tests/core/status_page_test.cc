#include "core/status_page.h"

#include <catch2/catch.hpp>

#include <map>
#include <regex>
#include <sstream>

namespace fcgi {
namespace {

StatusSnapshot Sample(bool full) {
  StatusSnapshot s;
  s.start_time_unix = 1000000000;
  s.uptime_seconds = 12.5;
  s.accepted_connections = 7;
  s.requests_total = 9;
  s.requests_active = 2;
  s.requests_queued = 1;
  s.max_queue_reached = 3;
  s.worker_slots = 4;
  s.worker_slots_in_use = 1;
  s.timeouts = 1;
  s.aborts = 2;
  s.launcher_5xx = 1;
  s.slow_requests = 1;
  s.responses[2] = 6;
  s.responses[5] = 1;
  s.modes["fork"].starts = 8;
  s.modes["fork"].park_starts = 1;
  s.modes["persistent"].recycles["max_requests"] = 2;
  s.classes.push_back({"/srv/a \"b\".cgi", "fork", 0, 0, 1, 1});
  s.full = full;
  if (full) s.active.push_back({4242, "/srv/a.cgi", "fork", "GET", "/slow?\"x\"\n", 1.25});
  return s;
}

TEST_CASE("status query: format and full", "[status]") {
  CHECK(ParseStatusQuery("").format == StatusFormat::kText);
  CHECK(ParseStatusQuery("json").format == StatusFormat::kJson);
  CHECK(ParseStatusQuery("openmetrics").format == StatusFormat::kOpenMetrics);
  StatusQuery q = ParseStatusQuery("full&json");
  CHECK(q.format == StatusFormat::kJson);
  CHECK(q.full);
  CHECK_FALSE(ParseStatusQuery("json").full);
  CHECK(ParseStatusQuery("full=1&x=y").full);
  CHECK(ParseStatusQuery("html").format == StatusFormat::kText);
  CHECK(std::string(StatusContentType(StatusFormat::kOpenMetrics)) ==
        "application/openmetrics-text; version=1.0.0; charset=utf-8");
  CHECK(std::string(StatusContentType(StatusFormat::kJson)) == "application/json");
}

TEST_CASE("status page: text", "[status]") {
  std::string t = RenderStatus(Sample(false), StatusFormat::kText);
  CHECK(t.find("start time:             2001-09-09T01:46:40Z\n") != std::string::npos);
  CHECK(t.find("start since:            12 s\n") != std::string::npos);  // uptime, with its unit
  CHECK(t.find("accepted conn:          7\n") != std::string::npos);
  CHECK(t.find("requests total:         9\n") != std::string::npos);
  CHECK(t.find("max queue reached:      3\n") != std::string::npos);
  CHECK(t.find("mode fork:              starts 8, parked starts 1") != std::string::npos);
  CHECK(t.find("recycles 2 (max_requests 2)") != std::string::npos);
  CHECK(t.find("busy 1, parked 1") != std::string::npos);
  CHECK(t.find("active requests") == std::string::npos);
  std::string full = RenderStatus(Sample(true), StatusFormat::kText);
  CHECK(full.find("pid 4242  elapsed 1.250 s  fork  /srv/a.cgi  GET /slow?\"x\"?\n") != std::string::npos);
}

TEST_CASE("status page: JSON escapes and carries every field", "[status]") {
  std::string j = RenderStatus(Sample(true), StatusFormat::kJson);
  CHECK(j.find("\"requests_total\":9") != std::string::npos);
  CHECK(j.find("\"responses\":{\"1xx\":0,\"2xx\":6,\"3xx\":0,\"4xx\":0,\"5xx\":1}") != std::string::npos);
  CHECK(j.find("\"persistent\":{\"starts\":0") != std::string::npos);
  CHECK(j.find("\"recycles\":{\"max_requests\":2}") != std::string::npos);
  CHECK(j.find("\"program\":\"/srv/a \\\"b\\\".cgi\"") != std::string::npos);
  CHECK(j.find("\"uri\":\"/slow?\\\"x\\\"\\u000a\"") != std::string::npos);
  CHECK(j.find("\"pid\":4242") != std::string::npos);
  CHECK(j.find('\n') == j.size() - 1);  // one line, then the newline
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < j.size(); ++i) {
    if (in_string) {
      if (j[i] == '\\') ++i;
      else if (j[i] == '"') in_string = false;
    } else if (j[i] == '"') {
      in_string = true;
    } else if (j[i] == '{' || j[i] == '[') {
      ++depth;
    } else if (j[i] == '}' || j[i] == ']') {
      REQUIRE(--depth >= 0);
    }
  }
  CHECK(depth == 0);
  CHECK_FALSE(in_string);
  CHECK(RenderStatus(Sample(false), StatusFormat::kJson).find("active_requests") == std::string::npos);
}

// OpenMetrics 1.0 text rules the page must keep (a strict subset).
void CheckOpenMetrics(const std::string& text) {
  static const std::regex kSample(
      R"(([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\[\\"n])*")(,[a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\[\\"n])*")*\})? (-?[0-9]+(\.[0-9]+)?))");
  static const std::regex kType(R"(# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge))");
  static const std::regex kHelp(R"(# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) .+)");
  REQUIRE(text.size() >= 6);
  REQUIRE(text.substr(text.size() - 6) == "# EOF\n");
  std::map<std::string, std::string> types;  // family -> type
  std::string current;
  std::istringstream in(text);
  std::string line;
  int samples = 0;
  while (std::getline(in, line)) {
    INFO(line);
    std::smatch m;
    if (line == "# EOF") {
      CHECK(in.peek() == EOF);
      continue;
    }
    if (std::regex_match(line, m, kType)) {
      CHECK(types.count(m[1]) == 0);  // one TYPE per family
      const std::string family = m[1];
      CHECK_FALSE((family.size() >= 6 && family.substr(family.size() - 6) == "_total"));
      current = m[1];
      types[current] = m[2];
      continue;
    }
    if (std::regex_match(line, m, kHelp)) {
      CHECK(m[1] == current);
      continue;
    }
    REQUIRE(std::regex_match(line, m, kSample));
    ++samples;
    const std::string name = m[1];
    REQUIRE_FALSE(current.empty());  // TYPE precedes samples
    if (types[current] == "counter") {
      CHECK(name == current + "_total");
    } else {
      CHECK(name == current);
    }
  }
  CHECK(samples > 10);
}

TEST_CASE("status page: OpenMetrics families, samples and # EOF", "[status]") {
  std::string om = RenderStatus(Sample(true), StatusFormat::kOpenMetrics);
  CheckOpenMetrics(om);
  CHECK(om.find("# TYPE fcgi_run_requests counter\n") != std::string::npos);
  CHECK(om.find("fcgi_run_requests_total 9\n") != std::string::npos);
  CHECK(om.find("fcgi_run_requests_active 2\n") != std::string::npos);
  CHECK(om.find("fcgi_run_responses_total{class=\"5xx\"} 1\n") != std::string::npos);
  CHECK(om.find("fcgi_run_program_starts_total{mode=\"fork\"} 8\n") != std::string::npos);
  CHECK(om.find("fcgi_run_recycles_total{mode=\"persistent\",reason=\"max_requests\"} 2\n") !=
        std::string::npos);
  CHECK(om.find("fcgi_run_workers{program=\"/srv/a \\\"b\\\".cgi\",mode=\"fork\",state=\"busy\"} 1\n") !=
        std::string::npos);
  CHECK(om.find("uri=\"/slow?\\\"x\\\"\\n\"") != std::string::npos);
  StatusSnapshot empty;  // no modes, no classes: still valid
  empty.requests_total = 0;
  CheckOpenMetrics(RenderStatus(empty, StatusFormat::kOpenMetrics) + "");
}

TEST_CASE("status page: active rows from the metrics, oldest first", "[status]") {
  Metrics m;
  const std::chrono::steady_clock::time_point t0{};
  uint64_t a = m.BeginRequest("/a.cgi", "GET", "/a", t0);
  m.BeginRequest("/b.cgi", "GET", "/b", t0 + std::chrono::seconds(1));
  m.RequestStarted(a, 77, "exec");
  auto rows = ActiveRows(m, t0 + std::chrono::milliseconds(2500));
  REQUIRE(rows.size() == 2);
  CHECK(rows[0].pid == 77);
  CHECK(rows[0].elapsed_seconds == Approx(2.5));
  CHECK(rows[1].pid == -1);
  CHECK(rows[1].elapsed_seconds == Approx(1.5));
}

}  // namespace
}  // namespace fcgi
