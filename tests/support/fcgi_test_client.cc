#include "tests/support/fcgi_test_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <fcntl.h>
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <thread>

#include "core/fcgi_bodies.h"
#include "core/fcgi_record_writer.h"

namespace fcgi::test {

namespace {

std::string TypeName(uint8_t type) {
  return type >= 1 && type <= kMaxKnownRecordType ? RecordTypeName(type) : "type " + std::to_string(type);
}

// Printable head of some bytes for failure messages.
std::string Excerpt(std::string_view bytes, size_t max = 200) {
  std::string out;
  for (char c : bytes.substr(0, max)) {
    unsigned char u = static_cast<unsigned char>(c);
    if (c == '\n') out += "\\n";
    else if (c == '\r') out += "\\r";
    else if (u < 0x20 || u >= 0x7f)
      out += "\\x" + std::string(1, "0123456789abcdef"[u >> 4]) + std::string(1, "0123456789abcdef"[u & 15]);
    else out += c;
  }
  if (bytes.size() > max) out += "...";
  return out;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return !CaseInsensitiveLess()(a, b) && !CaseInsensitiveLess()(b, a);
}

std::string EmptyRecord(RecordType type, uint16_t id) {
  std::string out;
  AppendStreamEnd(&out, type, id);
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Parses "NNN reason" into *code and *reason. False if there are not 3 digits.
bool ParseStatusValue(std::string_view v, int* code, std::string* reason) {
  v = Trim(v);
  if (v.size() < 3 || !std::isdigit(static_cast<unsigned char>(v[0])) ||
      !std::isdigit(static_cast<unsigned char>(v[1])) || !std::isdigit(static_cast<unsigned char>(v[2])) ||
      (v.size() > 3 && v[3] != ' ' && v[3] != '\t')) {
    return false;
  }
  *code = (v[0] - '0') * 100 + (v[1] - '0') * 10 + (v[2] - '0');
  *reason = std::string(Trim(v.substr(3)));
  return true;
}

// Fills *storage for "unix:/p", "tcp:1.2.3.4:P", "tcp:[::1]:P".
Status ParseAddress(std::string_view address, sockaddr_storage* storage, socklen_t* len) {
  std::memset(storage, 0, sizeof(*storage));
  if (address.substr(0, 5) == "unix:") {
    std::string_view path = address.substr(5);
    auto* un = reinterpret_cast<sockaddr_un*>(storage);
    if (path.empty() || path.size() >= sizeof(un->sun_path)) {
      return Status::Invalid("unix socket path empty or too long: " + std::string(address));
    }
    un->sun_family = AF_UNIX;
    std::memcpy(un->sun_path, path.data(), path.size());
    *len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + 1);
    return Status::Ok();
  }
  if (address.substr(0, 4) != "tcp:") {
    return Status::Invalid("address must start with unix: or tcp: : " + std::string(address));
  }
  std::string_view rest = address.substr(4);
  size_t colon = rest.rfind(':');
  if (colon == std::string_view::npos) return Status::Invalid("no port in " + std::string(address));
  std::string host(rest.substr(0, colon));
  int port = 0;
  for (char c : rest.substr(colon + 1)) {
    if (c < '0' || c > '9') return Status::Invalid("bad port in " + std::string(address));
    port = port * 10 + (c - '0');
  }
  if (port <= 0 || port > 65535) return Status::Invalid("bad port in " + std::string(address));
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(storage);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(static_cast<uint16_t>(port));
    if (inet_pton(AF_INET6, host.substr(1, host.size() - 2).c_str(), &in6->sin6_addr) != 1) {
      return Status::Invalid("bad IPv6 address in " + std::string(address));
    }
    *len = sizeof(sockaddr_in6);
    return Status::Ok();
  }
  auto* in4 = reinterpret_cast<sockaddr_in*>(storage);
  in4->sin_family = AF_INET;
  in4->sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, host.c_str(), &in4->sin_addr) != 1) {
    return Status::Invalid("bad IPv4 address in " + std::string(address));
  }
  *len = sizeof(sockaddr_in);
  return Status::Ok();
}

int PollMillis(std::chrono::steady_clock::time_point deadline) {
  auto left = std::chrono::ceil<Millis>(deadline - std::chrono::steady_clock::now()).count();
  return left <= 0 ? 0 : static_cast<int>(std::min<long long>(left, 1000 * 1000));
}

}  // namespace

// --------------------------------------------------------------------------- builders

std::string StreamBytes(RecordType type, uint16_t id, std::string_view data, const Split& split) {
  std::string out;
  size_t i = 0;
  while (!data.empty()) {
    size_t n = kMaxContentLength;
    if (i < split.size()) {
      n = split[i++];
      if (n == 0) continue;
    }
    n = std::min({n, kMaxContentLength, data.size()});
    (void)AppendRecord(&out, static_cast<uint8_t>(type), id, data.substr(0, n));  // n fits
    data.remove_prefix(n);
  }
  return out;
}

std::string BeginRequestBytes(uint16_t id, Role role, bool keep_conn) {
  std::string out;
  AppendBeginRequest(&out, id, role, keep_conn);
  return out;
}
std::string BeginRequestRawBytes(uint16_t id, uint16_t role, uint8_t flags) {
  std::string out;
  AppendBeginRequestRaw(&out, id, role, flags);
  return out;
}
std::string ParamsBytes(uint16_t id, const NameValuePairs& params, const Split& split) {
  return StreamBytes(RecordType::kParams, id, EncodeNameValues(params), split);
}
std::string StdinBytes(uint16_t id, std::string_view data, const Split& split) {
  return StreamBytes(RecordType::kStdin, id, data, split);
}
std::string DataBytes(uint16_t id, std::string_view data, const Split& split) {
  return StreamBytes(RecordType::kData, id, data, split);
}
std::string EmptyParamsBytes(uint16_t id) { return EmptyRecord(RecordType::kParams, id); }
std::string EmptyStdinBytes(uint16_t id) { return EmptyRecord(RecordType::kStdin, id); }
std::string EmptyDataBytes(uint16_t id) { return EmptyRecord(RecordType::kData, id); }
std::string AbortRequestBytes(uint16_t id) {
  std::string out;
  AppendAbortRequest(&out, id);
  return out;
}
std::string GetValuesBytes(const std::vector<std::string>& names) {
  std::string out;
  AppendGetValues(&out, names);
  return out;
}

std::string RawRecordBytes(uint8_t version, uint8_t type, uint16_t id, std::string_view content,
                           uint8_t padding_length, uint8_t reserved) {
  std::string out(kHeaderSize, '\0');
  EncodeHeader(out.data(), type, id, static_cast<uint16_t>(content.size()), padding_length);
  out[0] = static_cast<char>(version);
  out[7] = static_cast<char>(reserved);
  out.append(content);
  out.append(padding_length, '\0');
  return out;
}

std::string RequestBytes(const RequestSpec& spec) {
  std::string out = BeginRequestBytes(spec.id, spec.role, spec.keep_conn);
  out += ParamsBytes(spec.id, spec.params, spec.params_split);
  out += EmptyParamsBytes(spec.id);
  if (spec.send_stdin) {
    out += StdinBytes(spec.id, spec.stdin_body, spec.stdin_split);
    out += EmptyStdinBytes(spec.id);
  }
  if (spec.role == Role::kFilter) {
    out += DataBytes(spec.id, spec.data, spec.data_split);
    out += EmptyDataBytes(spec.id);
  }
  return out;
}

// --------------------------------------------------------------------------- results

bool FcgiResponse::ok() const {
  return ended && failure.empty() && protocol_errors.empty() &&
         protocol_status == static_cast<uint8_t>(ProtocolStatus::kRequestComplete);
}

std::string FcgiResponse::Describe() const {
  std::string d = "request " + std::to_string(request_id) + ": ";
  d += ended ? "ended, appStatus " + std::to_string(app_status) + ", protocolStatus " +
                   std::to_string(protocol_status)
             : std::string("not ended");
  d += "; stdout " + std::to_string(stdout_data.size()) + " bytes in " + std::to_string(stdout_records) +
       " records" + (stdout_closed ? " (closed)" : "");
  d += "; stderr " + std::to_string(stderr_data.size()) + " bytes";
  if (!failure.empty()) d += "; FAILURE: " + failure;
  for (const std::string& e : protocol_errors) d += "; PROTOCOL ERROR: " + e;
  if (!stdout_data.empty()) d += "; stdout: \"" + Excerpt(stdout_data) + "\"";
  if (!stderr_data.empty()) d += "; stderr: \"" + Excerpt(stderr_data) + "\"";
  return d;
}

std::string ManagementRecord::Value(std::string_view name) const {
  for (const auto& [n, v] : values) {
    if (n == name) return v;
  }
  return "";
}

// --------------------------------------------------------------------------- connection

FcgiTestClient::~FcgiTestClient() { Close(); }

FcgiTestClient::Clock::time_point FcgiTestClient::DeadlineFor(Millis timeout) const {
  return Clock::now() + (timeout < Millis(0) ? timeout_ : timeout);
}

Status FcgiTestClient::Connect(std::string_view address, Millis timeout) {
  Close();
  sockaddr_storage storage;
  socklen_t len = 0;
  Status s = ParseAddress(address, &storage, &len);
  if (!s.ok()) return s;
  const auto deadline = DeadlineFor(timeout);
  int fd = socket(storage.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status::FromErrno("socket(2)", address, errno);
  for (;;) {
    if (connect(fd, reinterpret_cast<sockaddr*>(&storage), len) == 0) break;
    int err = errno;
    if (err == EINTR) continue;
    if (err == EAGAIN) {  // unix socket with a full backlog: retry
      if (Clock::now() >= deadline) {
        close(fd);
        return Status::Unavailable("connect(2) " + std::string(address) + ": backlog full until timeout");
      }
      std::this_thread::sleep_for(Millis(5));
      continue;
    }
    if (err != EINPROGRESS) {
      close(fd);
      return Status::FromErrno("connect(2)", address, err);
    }
    pollfd p{fd, POLLOUT, 0};
    int n = poll(&p, 1, PollMillis(deadline));
    if (n == 0) {
      close(fd);
      return Status::Unavailable("connect(2) " + std::string(address) + ": timed out");
    }
    int so_error = 0;
    socklen_t so_len = sizeof(so_error);
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &so_len);
    if (so_error != 0) {
      close(fd);
      return Status::FromErrno("connect(2)", address, so_error);
    }
    break;
  }
  if (storage.ss_family != AF_UNIX) {
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  }
  fd_ = fd;
  return Status::Ok();
}

void FcgiTestClient::Adopt(int fd) {
  Close();
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  fd_ = fd;
}

void FcgiTestClient::ShutdownWrite() {
  if (fd_ >= 0) shutdown(fd_, SHUT_WR);
}

void FcgiTestClient::Close() {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
}

size_t FcgiTestClient::PendingRequests(uint16_t id) const {
  auto it = requests_.find(id);
  return it == requests_.end() ? 0 : it->second.size();
}

bool FcgiTestClient::Ended(uint16_t id) const {
  auto it = requests_.find(id);
  return it != requests_.end() && !it->second.empty() && it->second.front().ended;
}

Status FcgiTestClient::Send(std::string_view bytes, size_t piece_size, Millis pause, Millis timeout) {
  if (fd_ < 0) return Status::Invalid("FcgiTestClient::Send: not connected");
  TrackOutgoing(bytes);
  const auto deadline = DeadlineFor(timeout);
  const size_t total = bytes.size();
  const size_t piece = piece_size == 0 ? std::max<size_t>(total, 1) : piece_size;
  while (!bytes.empty()) {
    std::string_view chunk = bytes.substr(0, piece);
    while (!chunk.empty()) {
      pollfd p{fd_, static_cast<short>(POLLOUT | (peer_closed_ ? 0 : POLLIN)), 0};
      int n = poll(&p, 1, PollMillis(deadline));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        return Status::Unavailable("send: timed out after " + std::to_string(total - bytes.size()) + " of " +
                                   std::to_string(total) + " bytes");
      }
      if ((p.revents & POLLIN) != 0) ReadSome(Clock::now());  // keep the peer unblocked
      if ((p.revents & (POLLOUT | POLLERR | POLLHUP)) == 0) continue;
      ssize_t w = send(fd_, chunk.data(), chunk.size(), MSG_NOSIGNAL);
      if (w < 0) {
        if (errno == EAGAIN || errno == EINTR) continue;
        return Status::FromErrno(
            "send(2)",
            "after " + std::to_string(total - bytes.size()) + " of " + std::to_string(total) + " bytes",
            errno);
      }
      chunk.remove_prefix(static_cast<size_t>(w));
      bytes.remove_prefix(static_cast<size_t>(w));
    }
    if (pause > Millis(0) && !bytes.empty()) ReadFor(pause);
  }
  return Status::Ok();
}

void FcgiTestClient::TrackOutgoing(std::string_view bytes) {
  while (track_outgoing_ && !bytes.empty()) {
    size_t consumed = 0;
    Record rec;
    RecordParser::Result r = outgoing_.Parse(bytes, &consumed, &rec);
    bytes.remove_prefix(consumed);
    if (r == RecordParser::Result::kError) track_outgoing_ = false;
    if (r != RecordParser::Result::kRecord) break;
    uint16_t id = rec.header.request_id;
    if (rec.header.type == static_cast<uint8_t>(RecordType::kBeginRequest) && id != 0) {
      FcgiResponse fresh;
      fresh.request_id = id;
      requests_[id].push_back(std::move(fresh));
      ended_ids_.erase(id);
    }
  }
}

FcgiTestClient::ReadResult FcgiTestClient::ReadSome(Clock::time_point deadline) {
  if (fd_ < 0) {
    io_error_ = "not connected";
    return ReadResult::kError;
  }
  if (peer_closed_) return ReadResult::kClosed;
  pollfd p{fd_, POLLIN, 0};
  int n = poll(&p, 1, PollMillis(deadline));
  if (n < 0) {
    if (errno == EINTR) return ReadResult::kData;
    io_error_ = std::string("poll(2): ") + std::strerror(errno);
    return ReadResult::kError;
  }
  if (n == 0) return ReadResult::kTimeout;
  char buf[65536];
  ssize_t r = recv(fd_, buf, sizeof(buf), 0);
  if (r > 0) {
    bytes_received_ += static_cast<size_t>(r);
    ProcessIncoming(std::string_view(buf, static_cast<size_t>(r)));
    return ReadResult::kData;
  }
  if (r == 0 || errno == ECONNRESET) {
    peer_closed_ = true;
    return ReadResult::kClosed;
  }
  if (errno == EAGAIN || errno == EINTR) return ReadResult::kData;
  io_error_ = std::string("recv(2): ") + std::strerror(errno);
  return ReadResult::kError;
}

void FcgiTestClient::ProcessIncoming(std::string_view bytes) {
  while (!incoming_broken_ && !bytes.empty()) {
    size_t consumed = 0;
    Record rec;
    RecordParser::Result r = incoming_.Parse(bytes, &consumed, &rec);
    bytes.remove_prefix(consumed);
    if (r == RecordParser::Result::kError) {
      incoming_broken_ = true;
      connection_errors_.push_back("unparseable stream from the application: " + incoming_.error().message());
    }
    if (r != RecordParser::Result::kRecord) break;
    HandleRecord(rec);
  }
}

FcgiResponse* FcgiTestClient::ActiveResponse(uint16_t id) {
  auto it = requests_.find(id);
  if (it == requests_.end()) return nullptr;
  for (FcgiResponse& r : it->second) {
    if (!r.ended) return &r;
  }
  return nullptr;
}

void FcgiTestClient::AddError(FcgiResponse* response, std::string error) {
  if (response != nullptr) {
    response->protocol_errors.push_back(std::move(error));
  } else {
    connection_errors_.push_back(std::move(error));
  }
}

void FcgiTestClient::HandleRecord(const Record& record) {
  const uint8_t type = record.header.type;
  const uint16_t id = record.header.request_id;
  const std::string what = TypeName(type) + " record";

  if (id == kNullRequestId) {
    ManagementRecord m;
    m.type = type;
    m.content = std::string(record.content);
    if (type == static_cast<uint8_t>(RecordType::kGetValuesResult)) {
      Status s = DecodeNameValues(record.content, &m.values);
      if (!s.ok()) {
        m.failure = "GET_VALUES_RESULT: " + s.message();
        AddError(nullptr, m.failure);
      }
    } else if (type == static_cast<uint8_t>(RecordType::kUnknownType)) {
      UnknownTypeBody body;
      Status s = DecodeUnknownTypeBody(record.content, &body);
      m.unknown_type = body.type;
      if (!s.ok()) {
        m.failure = s.message();
        AddError(nullptr, m.failure);
      }
    } else {
      AddError(nullptr, "application sent a " + what + " with request id 0");
    }
    management_.push_back(std::move(m));
    return;
  }

  FcgiResponse* r = ActiveResponse(id);
  if (r == nullptr) {
    if (!track_outgoing_) {  // we cannot know what was begun: accept any id
      FcgiResponse fresh;
      fresh.request_id = id;
      requests_[id].push_back(std::move(fresh));
      r = &requests_[id].back();
    } else {
      auto it = requests_.find(id);
      FcgiResponse* last = (it == requests_.end() || it->second.empty()) ? nullptr : &it->second.back();
      AddError(last, ended_ids_.count(id) != 0
                         ? what + " for request id " + std::to_string(id) + " after its END_REQUEST"
                         : what + " for request id " + std::to_string(id) + ", which was never begun");
      if (last != nullptr) last->records.push_back({type, record.content.size()});
      return;
    }
  }
  r->records.push_back({type, record.content.size()});

  switch (static_cast<RecordType>(type)) {
    case RecordType::kStdout:
    case RecordType::kStderr: {
      const bool is_out = type == static_cast<uint8_t>(RecordType::kStdout);
      bool& closed = is_out ? r->stdout_closed : r->stderr_closed;
      (is_out ? r->stdout_records : r->stderr_records)++;
      if (closed) {
        AddError(r, what + " after the end of its stream (request id " + std::to_string(id) + ")");
      } else if (record.content.empty()) {
        closed = true;
      } else {
        (is_out ? r->stdout_data : r->stderr_data).append(record.content);
      }
      break;
    }
    case RecordType::kEndRequest: {
      EndRequestBody body;
      Status s = DecodeEndRequestBody(record.content, &body);
      if (!s.ok()) AddError(r, s.message());
      r->ended = true;
      r->app_status = body.app_status;
      r->protocol_status = body.protocol_status;
      if (body.protocol_status > static_cast<uint8_t>(ProtocolStatus::kUnknownRole)) {
        AddError(r, "END_REQUEST with unknown protocolStatus " + std::to_string(body.protocol_status));
      }
      ended_ids_.insert(id);
      break;
    }
    default:
      AddError(r, "application sent a " + what + " for request id " + std::to_string(id));
      break;
  }
}

FcgiResponse FcgiTestClient::Finish(uint16_t id, std::string failure) {
  FcgiResponse out;
  out.request_id = id;
  auto it = requests_.find(id);
  if (it != requests_.end() && !it->second.empty()) {
    if (failure.empty()) {  // complete: hand it over
      out = std::move(it->second.front());
      it->second.pop_front();
      if (it->second.empty()) requests_.erase(it);
    } else {  // incomplete: a copy, so a later call may still complete it
      out = it->second.front();
    }
  }
  out.failure = std::move(failure);
  out.protocol_errors.insert(out.protocol_errors.end(), connection_errors_.begin(), connection_errors_.end());
  return out;
}

std::string FcgiTestClient::FailureText(ReadResult result, const std::string& waiting_for,
                                        Millis timeout) const {
  switch (result) {
    case ReadResult::kTimeout:
      return "timed out after " + std::to_string((timeout < Millis(0) ? timeout_ : timeout).count()) +
             " ms waiting for " + waiting_for;
    case ReadResult::kClosed:
      return "the application closed the connection before " + waiting_for;
    case ReadResult::kError:
      return io_error_ + " while waiting for " + waiting_for;
    case ReadResult::kData:
      break;
  }
  return "";
}

FcgiResponse FcgiTestClient::ReadUntilEnd(uint16_t id, Millis timeout) {
  const auto deadline = DeadlineFor(timeout);
  const std::string waiting_for = "END_REQUEST of request id " + std::to_string(id);
  for (;;) {
    auto it = requests_.find(id);
    bool known = it != requests_.end() && !it->second.empty();
    if (known && it->second.front().ended) return Finish(id, "");
    if (!known && track_outgoing_) {
      return Finish(id, "request id " + std::to_string(id) +
                            " was never begun on this connection (or was already returned)");
    }
    if (incoming_broken_) return Finish(id, "the application's record stream is unparseable");
    ReadResult result = ReadSome(deadline);
    if (result != ReadResult::kData) return Finish(id, FailureText(result, waiting_for, timeout));
  }
}

std::vector<FcgiResponse> FcgiTestClient::ReadUntilAllEnded(const std::vector<uint16_t>& ids,
                                                            Millis timeout) {
  const auto deadline = DeadlineFor(timeout);
  std::vector<FcgiResponse> out;
  for (uint16_t id : ids) {
    Millis left = std::max(Millis(0), std::chrono::ceil<Millis>(deadline - Clock::now()));
    out.push_back(ReadUntilEnd(id, left));
  }
  return out;
}

ManagementRecord FcgiTestClient::ReadManagementRecord(Millis timeout) {
  const auto deadline = DeadlineFor(timeout);
  for (;;) {
    if (!management_.empty()) {
      ManagementRecord m = std::move(management_.front());
      management_.pop_front();
      return m;
    }
    ReadResult result = incoming_broken_ ? ReadResult::kError : ReadSome(deadline);
    if (incoming_broken_) io_error_ = "unparseable record stream";
    if (result != ReadResult::kData) {
      ManagementRecord m;
      m.failure = FailureText(result, "a management record", timeout);
      return m;
    }
  }
}

bool FcgiTestClient::WaitForClose(Millis timeout) {
  const auto deadline = DeadlineFor(timeout);
  for (;;) {
    ReadResult result = ReadSome(deadline);
    if (result == ReadResult::kClosed) return true;
    if (result != ReadResult::kData) return false;
  }
}

bool FcgiTestClient::ReadFor(Millis duration) {
  const auto deadline = Clock::now() + duration;
  for (;;) {
    ReadResult result = ReadSome(deadline);
    if (result == ReadResult::kTimeout) return true;
    if (result != ReadResult::kData) return false;
  }
}

FcgiResponse FcgiTestClient::Request(const RequestSpec& spec, Millis timeout) {
  const auto deadline = DeadlineFor(timeout);
  Status sent = Send(RequestBytes(spec), 0, Millis(0), timeout);
  Millis left = std::max(Millis(0), std::chrono::ceil<Millis>(deadline - Clock::now()));
  FcgiResponse r = ReadUntilEnd(spec.id, left);
  if (!sent.ok() && !r.failure.empty())
    r.failure = "sending failed (" + sent.message() + "), then " + r.failure;
  return r;
}

FcgiResponse FcgiTestClient::Request(const NameValuePairs& params, std::string_view stdin_body,
                                     Millis timeout) {
  RequestSpec spec;
  spec.params = params;
  spec.stdin_body = std::string(stdin_body);
  return Request(spec, timeout);
}

FcgiResponse RequestOnce(std::string_view address, const NameValuePairs& params, std::string_view stdin_body,
                         Millis timeout) {
  FcgiTestClient client(timeout);
  Status s = client.Connect(address);
  if (!s.ok()) {
    FcgiResponse r;
    r.request_id = 1;
    r.failure = s.message();
    return r;
  }
  return client.Request(params, stdin_body);
}

// --------------------------------------------------------------------------- CGI responses

bool CaseInsensitiveLess::operator()(std::string_view a, std::string_view b) const {
  return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) < std::tolower(static_cast<unsigned char>(y));
  });
}

std::string CgiResponse::Header(std::string_view name) const {
  auto it = headers.find(name);
  return it == headers.end() ? "" : it->second;
}

std::vector<std::string> CgiResponse::HeaderValues(std::string_view name) const {
  std::vector<std::string> out;
  for (const auto& [n, v] : header_list) {
    if (EqualsIgnoreCase(n, name)) out.push_back(v);
  }
  return out;
}

CgiResponse SplitCgiResponse(std::string_view out) {
  CgiResponse r;
  size_t pos = 0;
  bool first = true;
  for (;;) {
    size_t nl = out.find('\n', pos);
    if (nl == std::string_view::npos) {
      if (r.error.empty()) {
        r.error = out.empty() ? "empty output" : "output ends inside the header block";
      }
      return r;
    }
    std::string_view line = out.substr(pos, nl - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    pos = nl + 1;
    if (line.empty()) break;
    if (first && line.substr(0, 5) == "HTTP/") {
      r.status_line = std::string(line);
      size_t sp = line.find(' ');
      if (sp == std::string_view::npos || !ParseStatusValue(line.substr(sp + 1), &r.status, &r.reason)) {
        r.error = "bad status line: " + Excerpt(line);
      }
      first = false;
      continue;
    }
    first = false;
    size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) {
      if (r.error.empty()) r.error = "header line without a name and colon: \"" + Excerpt(line) + "\"";
      continue;
    }
    std::string name(line.substr(0, colon));
    std::string value(Trim(line.substr(colon + 1)));
    if (EqualsIgnoreCase(name, "Status")) {
      r.has_status_header = true;
      if (!ParseStatusValue(value, &r.status, &r.reason) && r.error.empty()) {
        r.error = "bad Status header: \"" + Excerpt(value) + "\"";
      }
    }
    r.headers.emplace(name, value);
    r.header_list.emplace_back(std::move(name), std::move(value));
  }
  r.body = std::string(out.substr(pos));
  r.ok = r.error.empty();
  return r;
}

}  // namespace fcgi::test
