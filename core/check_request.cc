#include "core/check_request.h"

#include <map>

namespace fcgi {

Status ParseCheckRequest(std::string_view name, std::string_view text, CheckRequest* out) {
  CheckRequest r;
  r.name = std::string(name);
  size_t pos = 0;
  int line_number = 0;
  while (pos <= text.size()) {
    size_t end = text.find('\n', pos);
    const bool last = end == std::string_view::npos;
    std::string_view line = text.substr(pos, last ? std::string_view::npos : end - pos);
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    pos = last ? text.size() + 1 : end + 1;
    if (line.empty()) {
      if (!last) r.body = std::string(text.substr(pos));
      break;
    }
    if (line.front() == '#') continue;
    size_t eq = line.find('=');
    if (eq == std::string_view::npos || eq == 0) {
      return Status::Invalid(std::string(name) + " line " + std::to_string(line_number) +
                             ": expected NAME=VALUE (or an empty line before the body)");
    }
    r.variables.emplace_back(std::string(line.substr(0, eq)), std::string(line.substr(eq + 1)));
  }
  *out = std::move(r);
  return Status::Ok();
}

CheckRequest DefaultCheckRequest() {
  CheckRequest r;
  r.name = "default GET";
  return r;
}

std::vector<std::string> CheckRequestEnvironment(const CheckRequest& request, const std::string& program,
                                                 const std::vector<std::string>& extra) {
  const std::string base = program.substr(program.rfind('/') + 1);
  std::map<std::string, std::string> env = {
      {"GATEWAY_INTERFACE", "CGI/1.1"},
      {"REQUEST_METHOD", request.body.empty() ? "GET" : "POST"},
      {"QUERY_STRING", ""},
      {"SCRIPT_NAME", "/" + base},
      {"SCRIPT_FILENAME", program},
      {"REQUEST_URI", "/" + base},
      {"SERVER_PROTOCOL", "HTTP/1.1"},
      {"SERVER_SOFTWARE", "fcgi-run --check"},
      {"SERVER_NAME", "localhost"},
      {"SERVER_PORT", "80"},
      {"REMOTE_ADDR", "127.0.0.1"},
      {"FCGI_ROLE", "RESPONDER"},
  };
  if (!request.body.empty()) env["CONTENT_LENGTH"] = std::to_string(request.body.size());
  for (const auto& [name, value] : request.variables) env[name] = value;
  for (const std::string& e : extra) {
    size_t eq = e.find('=');
    if (eq != std::string::npos) env.emplace(e.substr(0, eq), e.substr(eq + 1));
  }
  std::vector<std::string> out;
  for (const auto& [name, value] : env) out.push_back(name + "=" + value);
  return out;
}

}  // namespace fcgi
