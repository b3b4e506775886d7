#include "core/http_framing.h"

#include <string>
#include <vector>

#include "core/cgi_environment.h"  // EscapeForLog
#include "core/strings.h"

namespace fcgi {

Status CheckRequestFraming(const HttpHeaderFields& headers, int minor_version, int* status) {
  *status = 400;
  // The codings of every Transfer-Encoding field, in order (a list may be
  // split over several fields). A coding's parameters (";...") are kept: only
  // a bare "chunked" is the chunked coding.
  std::vector<std::string_view> codings;
  bool present = false;
  std::string text;  // for the message
  for (const auto& [name, value] : headers) {
    if (!EqualsIgnoreCase(name, "transfer-encoding")) continue;
    present = true;
    if (!text.empty()) text += ", ";
    text += value;
    std::string_view list = value;
    while (!list.empty()) {
      const size_t comma = list.find(',');
      std::string_view coding = Trim(list.substr(0, comma));
      if (!coding.empty()) codings.push_back(coding);
      list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
    }
  }
  if (!present) return Status::Ok();
  const std::string quoted = "Transfer-Encoding \"" + EscapeForLog(text) + "\"";
  if (minor_version == 0) {
    return Status::Protocol(quoted + " in an HTTP/1.0 request (its framing cannot be trusted)");
  }
  if (codings.empty()) return Status::Protocol("empty " + quoted);
  if (!EqualsIgnoreCase(codings.back(), "chunked")) {
    return Status::Protocol(quoted + " does not end in chunked: the body's length is unknown");
  }
  for (size_t i = 0; i + 1 < codings.size(); ++i) {
    if (EqualsIgnoreCase(codings[i], "chunked")) return Status::Protocol(quoted + " applies chunked twice");
  }
  if (codings.size() > 1) {
    *status = 501;
    return Status::Protocol(quoted + ": fcgi-run decodes no transfer coding but chunked");
  }
  return Status::Ok();
}

bool PendingLinesValid(std::string_view pending) {
  for (size_t at = pending.find('\n'); at != std::string_view::npos; at = pending.find('\n', at + 1)) {
    if (at == 0 || pending[at - 1] != '\r') return false;
  }
  return true;
}

}  // namespace fcgi
