// CGI params of a test request, shared by the e2e and conformance helpers
// (ControlParams, ProbeParams, Params) that each fix the program and
// SCRIPT_NAME of their own fixtures.
#ifndef FCGI_RUN_TESTS_SUPPORT_REQUEST_PARAMS_H_
#define FCGI_RUN_TESTS_SUPPORT_REQUEST_PARAMS_H_

#include <string>

#include "core/fcgi_name_value.h"

namespace fcgi::test {

// A GET of `program` as `script_name`, or a POST with a body of
// `content_length` bytes (CONTENT_LENGTH, CONTENT_TYPE) when it is >= 0.
// REQUEST_URI is script_name?query unless `with_request_uri` is false.
inline NameValuePairs RequestParams(const std::string& program, const std::string& script_name,
                                    const std::string& query, long content_length = -1,
                                    bool with_request_uri = true) {
  NameValuePairs p = {{"SCRIPT_FILENAME", program}, {"SCRIPT_NAME", script_name}};
  if (with_request_uri) p.emplace_back("REQUEST_URI", script_name + "?" + query);
  p.insert(p.end(), {{"REQUEST_METHOD", content_length >= 0 ? "POST" : "GET"},
                     {"QUERY_STRING", query},
                     {"GATEWAY_INTERFACE", "CGI/1.1"},
                     {"SERVER_PROTOCOL", "HTTP/1.1"},
                     {"REMOTE_ADDR", "127.0.0.1"}});
  if (content_length >= 0) {
    p.emplace_back("CONTENT_LENGTH", std::to_string(content_length));
    p.emplace_back("CONTENT_TYPE", "application/octet-stream");
  }
  return p;
}

}  // namespace fcgi::test

#endif  // FCGI_RUN_TESTS_SUPPORT_REQUEST_PARAMS_H_
