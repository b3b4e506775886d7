// Sample requests for `fcgi-run --check` (launcher/checks/safety_check.h).
//
// Request file format (plain text):
//   - lines up to the first empty line are CGI variables, NAME=VALUE (the
//     value may contain '='; a line starting with '#' is a comment);
//   - everything after that empty line, byte for byte, is the request body
//     (no empty line: no body).
// Example:
//   # a form post
//   REQUEST_METHOD=POST
//   QUERY_STRING=lang=en
//   CONTENT_TYPE=application/x-www-form-urlencoded
//
//   name=alice&age=42
// Defaults (for anything the file does not set): REQUEST_METHOD=GET (POST
// when there is a body), QUERY_STRING empty, CONTENT_LENGTH = the body's size
// when there is a body, plus the fixed server variables of DefaultCgiVariables.
#ifndef FCGI_RUN_CORE_CHECK_REQUEST_H_
#define FCGI_RUN_CORE_CHECK_REQUEST_H_

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"

namespace fcgi {

struct CheckRequest {
  std::string name;  // for the report: the file name, or "default GET"
  std::vector<std::pair<std::string, std::string>> variables;  // as given, in order
  std::string body;
};

// Parses a request file's contents. Errors name `name` and the line:
// "req.txt line 3: expected NAME=VALUE".
Status ParseCheckRequest(std::string_view name, std::string_view text, CheckRequest* out);

// The default sample: a GET with an empty query string.
CheckRequest DefaultCheckRequest();

// The whole CGI environment of `request` for `program` ("NAME=VALUE" each):
// the defaults above, then the request's variables (replacing defaults of the
// same name), then `extra` (PATH and the like) for names not set yet.
std::vector<std::string> CheckRequestEnvironment(const CheckRequest& request, const std::string& program,
                                                 const std::vector<std::string>& extra);

}  // namespace fcgi

#endif  // FCGI_RUN_CORE_CHECK_REQUEST_H_
