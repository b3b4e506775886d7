#include "tests/support/http_client.h"

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdlib>

#include "tests/support/net_util.h"
#include "tests/support/process.h"

namespace fcgi::test {
namespace {

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// Offset of the body in `raw` (after the last non-1xx header block), or npos.
size_t ParseHeadInto(std::string_view raw, HttpResponse* response) {
  size_t pos = 0;
  while (true) {
    size_t end = raw.find("\r\n\r\n", pos);
    size_t sep = 4;
    size_t lf_end = raw.find("\n\n", pos);
    if (lf_end != std::string_view::npos && (end == std::string_view::npos || lf_end < end)) {
      end = lf_end;
      sep = 2;
    }
    if (end == std::string_view::npos) return std::string_view::npos;
    std::string_view head = raw.substr(pos, end - pos);
    size_t line_end = head.find('\n');
    std::string_view status_line = Trim(head.substr(0, line_end));
    if (status_line.substr(0, 5) != "HTTP/") return std::string_view::npos;
    size_t space = status_line.find(' ');
    int status = space == std::string_view::npos
                     ? 0
                     : std::atoi(std::string(status_line.substr(space + 1, 3)).c_str());
    if (status >= 100 && status < 200) {
      pos = end + sep;
      continue;
    }
    response->status = status;
    response->status_line = std::string(status_line);
    response->headers.clear();
    while (line_end != std::string_view::npos) {
      head.remove_prefix(line_end + 1);
      line_end = head.find('\n');
      std::string_view line = Trim(head.substr(0, line_end));
      size_t colon = line.find(':');
      if (colon == std::string_view::npos) continue;
      response->headers.emplace_back(std::string(Trim(line.substr(0, colon))),
                                     std::string(Trim(line.substr(colon + 1))));
    }
    return end + sep;
  }
}

}  // namespace

std::string HttpResponse::Header(std::string_view name) const {
  for (const auto& [n, v] : headers) {
    if (EqualsIgnoreCase(n, name)) return v;
  }
  return "";
}

bool HttpResponse::HasHeader(std::string_view name) const {
  for (const auto& header : headers) {
    if (EqualsIgnoreCase(header.first, name)) return true;
  }
  return false;
}

double HttpResponse::ArrivalOf(std::string_view needle) const {
  size_t at = body.find(needle);
  if (at == std::string::npos) return -1;
  for (const Arrival& a : arrivals) {
    if (a.body_bytes >= at + needle.size()) return a.seconds;
  }
  return -1;
}

HttpResponse ParseHttpResponse(std::string_view raw) {
  HttpResponse response;
  size_t body_at = ParseHeadInto(raw, &response);
  if (body_at == std::string_view::npos) {
    response.error = "no complete HTTP header in " + std::to_string(raw.size()) +
                     " bytes: " + std::string(raw.substr(0, 200));
    return response;
  }
  response.ok = true;
  response.body = std::string(raw.substr(body_at));
  return response;
}

HttpResponse Curl(const CurlRequest& request) {
  std::vector<std::string> argv = {"curl", "-sS",    "-i", "--max-time", std::to_string(request.max_time),
                                   "-H",   "Expect:"};
  bool has_body = !request.body.empty() || !request.body_file.empty();
  std::string method = request.method.empty() ? (has_body ? "POST" : "GET") : request.method;
  if (method != "GET" || has_body) argv.insert(argv.end(), {"-X", method});
  for (const auto& h : request.headers) argv.insert(argv.end(), {"-H", h});
  if (request.chunked) argv.insert(argv.end(), {"-H", "Transfer-Encoding: chunked"});
  std::string stdin_path;
  if (!request.body_file.empty()) {
    argv.insert(argv.end(), {"--data-binary", "@" + request.body_file});
  } else if (!request.body.empty()) {
    argv.insert(argv.end(), {"--data-binary", "@-"});
  }
  argv.insert(argv.end(), request.extra_args.begin(), request.extra_args.end());
  argv.push_back(request.url);
  CommandResult r =
      RunCommand(argv, request.body_file.empty() ? request.body : "", Seconds(request.max_time + 10));
  HttpResponse response = ParseHttpResponse(r.out);
  response.seconds = r.seconds;
  if (!r.Succeeded()) {
    response.ok = false;
    response.error = "curl " + DescribeWaitStatus(r.status) + ": " + r.err;
  }
  return response;
}

HttpResponse CurlGet(const std::string& url, double max_time) {
  CurlRequest request;
  request.url = url;
  request.max_time = max_time;
  return Curl(request);
}

HttpResponse RawHttpGet(int port, const std::string& path, const std::vector<std::string>& extra_headers,
                        double timeout_seconds) {
  using Clock = std::chrono::steady_clock;
  HttpResponse response;
  std::string error;
  UniqueFd fd = ConnectTo("tcp:127.0.0.1:" + std::to_string(port), &error);
  if (!fd.valid()) {
    response.error = error;
    return response;
  }
  std::string request = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
  for (const auto& h : extra_headers) request += h + "\r\n";
  request += "\r\n";
  auto start = Clock::now();
  if (!SendAll(fd.get(), request)) {
    response.error = "send failed";
    return response;
  }
  std::string raw;
  std::vector<std::pair<double, size_t>> raw_arrivals;
  auto deadline =
      start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(timeout_seconds));
  bool eof = false;
  while (!eof) {
    auto now = Clock::now();
    if (now >= deadline) {
      response.error = "timed out after " + std::to_string(timeout_seconds) + " s";
      break;
    }
    pollfd pfd{fd.get(), POLLIN, 0};
    int ms =
        static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count()) + 1;
    if (poll(&pfd, 1, ms) <= 0) continue;
    char buf[65536];
    ssize_t n = recv(fd.get(), buf, sizeof buf, 0);
    if (n <= 0) {
      eof = true;
      if (n < 0) response.error = "recv failed";
      break;
    }
    raw.append(buf, static_cast<size_t>(n));
    raw_arrivals.emplace_back(std::chrono::duration<double>(Clock::now() - start).count(), raw.size());
  }
  HttpResponse parsed = ParseHttpResponse(raw);
  parsed.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  if (!response.error.empty()) {
    parsed.ok = false;
    parsed.error = response.error + (parsed.error.empty() ? "" : "; " + parsed.error);
  }
  size_t head_size = raw.size() - parsed.body.size();
  for (const auto& [t, total] : raw_arrivals) {
    if (total > head_size) parsed.arrivals.push_back({t, total - head_size});
  }
  return parsed;
}

}  // namespace fcgi::test
