#include "core/connection_state.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "core/error_pages.h"
#include "core/fcgi_bodies.h"
#include "core/fcgi_record_writer.h"

namespace fcgi {

ConnectionState::ConnectionState(ConnectionEvents* events, const ConnectionLimits& limits)
    : events_(events), limits_(limits) {}

Status ConnectionState::Feed(std::string_view bytes, std::string* output) {
  while (!bytes.empty()) {
    size_t consumed = 0;
    Record record;
    RecordParser::Result result = parser_.Parse(bytes, &consumed, &record);
    bytes.remove_prefix(consumed);
    if (result == RecordParser::Result::kError) return parser_.error();
    if (result == RecordParser::Result::kNeedMore) break;
    Status s = HandleRecord(record, output);
    if (!s.ok()) return s;
  }
  return Status::Ok();
}

bool ConnectionState::IsRunning(uint16_t id) const {
  auto it = requests_.find(id);
  return it != requests_.end() && it->second.running;
}

bool ConnectionState::PeerInputComplete() const {
  return requests_.empty() && unfinished_input_.empty() && !input_unknown_ && parser_.AtRecordBoundary();
}

size_t ConnectionState::LargestParamsBuffer() const {
  size_t largest = 0;
  for (const auto& [id, request] : requests_) {
    if (request.params && request.params->BufferedBytes() > largest) {
      largest = request.params->BufferedBytes();
    }
  }
  return largest;
}

Status ConnectionState::HandleRecord(const Record& record, std::string* output) {
  const uint16_t id = record.header.request_id;
  if (id == kNullRequestId) {
    HandleManagement(record, output);
    return Status::Ok();
  }
  const auto type = static_cast<RecordType>(record.header.type);
  if (type == RecordType::kBeginRequest) {
    HandleBegin(record, output);
    return Status::Ok();
  }
  auto it = requests_.find(id);
  if (it == requests_.end()) {
    ++ignored_records_;  // record for an inactive id: ignored, per the specification
    NoteLateRecord(id, type, record.content.empty());
    return Status::Ok();
  }
  Request& request = it->second;
  switch (type) {
    case RecordType::kParams:
      if (request.running) {
        ++ignored_records_;
      } else {
        HandleParams(id, &request, record.content, output);
      }
      return Status::Ok();
    case RecordType::kStdin:
    case RecordType::kData: {
      const bool is_stdin = type == RecordType::kStdin;
      if (!request.running) {
        return Status::Protocol(std::string(is_stdin ? "STDIN" : "DATA") + " record for request " +
                                std::to_string(id) + " before its PARAMS stream ended");
      }
      bool& ended = is_stdin ? request.stdin_ended : request.data_ended;
      if (ended) {
        ++ignored_records_;
        return Status::Ok();
      }
      if (record.content.empty()) {
        ended = true;
        if (is_stdin) {
          events_->OnStdinEnd(id);
        } else {
          events_->OnDataEnd(id);
        }
      } else if (is_stdin) {
        events_->OnStdin(id, record.content);
      } else {
        events_->OnData(id, record.content);
      }
      return Status::Ok();
    }
    case RecordType::kAbortRequest:
      if (request.running) {
        events_->OnAbort(id);
      } else {
        EndRequest(id, 0, ProtocolStatus::kRequestComplete, output);
      }
      return Status::Ok();
    default:
      ++ignored_records_;  // STDOUT, STDERR, END_REQUEST, unknown types: not ours to receive
      return Status::Ok();
  }
}

void ConnectionState::HandleManagement(const Record& record, std::string* output) {
  if (record.header.type != static_cast<uint8_t>(RecordType::kGetValues)) {
    AppendUnknownType(output, record.header.type);
    return;
  }
  NameValuePairs asked;
  // A malformed GET_VALUES body is answered with whatever names decoded cleanly.
  (void)DecodeNameValues(record.content, &asked);
  // Each known name is answered once, however often it is asked: the answer
  // is a few dozen bytes, never more than one record holds.
  std::vector<std::pair<std::string, std::string>> answer;
  for (const auto& pair : asked) {
    const std::string& name = pair.first;  // a named reference: clang 14 cannot capture a structured binding
    if (std::any_of(answer.begin(), answer.end(), [&name](const auto& a) { return a.first == name; }))
      continue;
    if (name == kMaxConns) {
      answer.emplace_back(name, std::to_string(limits_.max_conns));
    } else if (name == kMaxReqs) {
      answer.emplace_back(name, std::to_string(limits_.max_reqs));
    } else if (name == kMpxsConns) {
      answer.emplace_back(name, limits_.max_requests > 1 ? "1" : "0");  // "0": no multiplexing (FastCGI 4.1)
    }
  }
  (void)AppendGetValuesResult(output, answer);  // at most three short pairs: all fit
}

void ConnectionState::HandleBegin(const Record& record, std::string* output) {
  const uint16_t id = record.header.request_id;
  if (requests_.count(id) != 0) {
    ++ignored_records_;  // duplicate BEGIN_REQUEST for an active id
    return;
  }
  BeginRequestBody body;
  if (!DecodeBeginRequestBody(record.content, &body).ok()) {
    ++ignored_records_;
    return;
  }
  // The peer has moved on from an earlier request of this id: the streams it
  // left open will not be closed now (records of `id` are the new request's).
  unfinished_input_.erase(id);
  if (body.role < static_cast<uint16_t>(Role::kResponder) ||
      body.role > static_cast<uint16_t>(Role::kFilter)) {
    AppendEndRequest(output, id, 0, ProtocolStatus::kUnknownRole);
    if (!body.keep_conn()) close_requested_ = true;
    input_unknown_ = true;  // its PARAMS and STDIN may still come
    return;
  }
  if (requests_.size() >= limits_.max_requests) {
    AppendEndRequest(output, id, 0, ProtocolStatus::kOverloaded);
    if (!body.keep_conn()) close_requested_ = true;
    input_unknown_ = true;
    return;
  }
  Request& request = requests_[id];
  request.role = static_cast<Role>(body.role);
  request.keep_conn = body.keep_conn();
  request.params = std::make_unique<NameValueStreamDecoder>(limits_.max_params_bytes);
}

void ConnectionState::HandleParams(uint16_t id, Request* request, std::string_view content,
                                   std::string* output) {
  if (!content.empty()) {
    Status s = request->params->Feed(content);
    if (!s.ok()) {
      RejectRequest(
          id,
          s.code() == Status::Code::kLimitExceeded ? ErrorPage::kParamsTooLarge : ErrorPage::kParamsRejected,
          s.message(), output);
    }
    return;
  }
  Status s = request->params->Finish();
  if (!s.ok()) {
    RejectRequest(id, ErrorPage::kParamsRejected, s.message(), output);
    return;
  }
  NameValuePairs params = request->params->TakePairs();
  request->params.reset();
  request->running = true;
  const Role role = request->role;
  const bool keep_conn = request->keep_conn;
  // The owner may end the request from inside the callback: `request` is not
  // touched after this point.
  events_->OnRequestReady(id, role, keep_conn, std::move(params));
}

void ConnectionState::RejectRequest(uint16_t id, ErrorPage page, std::string_view why, std::string* output) {
  AppendStreamData(output, RecordType::kStdout, id, ErrorResponse(page, "", why));
  EndRequest(id, 0, ProtocolStatus::kRequestComplete, output);
}

bool ConnectionState::AppendStdout(uint16_t id, std::string_view data, std::string* output) {
  if (!IsActive(id)) return false;
  AppendStreamData(output, RecordType::kStdout, id, data);
  return true;
}

bool ConnectionState::AppendStderr(uint16_t id, std::string_view data, std::string* output) {
  auto it = requests_.find(id);
  if (it == requests_.end()) return false;
  if (!data.empty()) it->second.stderr_sent = true;
  AppendStreamData(output, RecordType::kStderr, id, data);
  return true;
}

bool ConnectionState::EndRequest(uint16_t id, uint32_t app_status, ProtocolStatus status,
                                 std::string* output) {
  auto it = requests_.find(id);
  if (it == requests_.end()) return false;
  AppendStreamEnd(output, RecordType::kStdout, id);
  if (it->second.stderr_sent) AppendStreamEnd(output, RecordType::kStderr, id);
  AppendEndRequest(output, id, app_status, status);
  const Request& request = it->second;
  if (!request.keep_conn) close_requested_ = true;
  if (!request.running) {
    input_unknown_ = true;  // ended within PARAMS: the rest of PARAMS, STDIN... may follow
  } else if (!request.stdin_ended || (request.role == Role::kFilter && !request.data_ended)) {
    UnfinishedInput& open = unfinished_input_[id];
    open.stdin_open = !request.stdin_ended;
    open.data_open = request.role == Role::kFilter && !request.data_ended;
  }
  Forget(id);
  return true;
}

void ConnectionState::NoteLateRecord(uint16_t id, RecordType type, bool empty) {
  auto it = unfinished_input_.find(id);
  if (it == unfinished_input_.end() || !empty) return;
  if (type == RecordType::kStdin) it->second.stdin_open = false;
  if (type == RecordType::kData) it->second.data_open = false;
  if (!it->second.stdin_open && !it->second.data_open) unfinished_input_.erase(it);
}

void ConnectionState::Forget(uint16_t id) { requests_.erase(id); }

}  // namespace fcgi
