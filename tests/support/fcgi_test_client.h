// FcgiTestClient: a raw FastCGI 1.0 client for the end-to-end and conformance
// tests, built on the core codec (fcgi_record_writer.h, fcgi_record_parser.h).
//
// It plays the web server: connects to the application ("unix:/path",
// "tcp:127.0.0.1:PORT", "tcp:[::1]:PORT"), sends whatever bytes a test builds
// (well-formed or not, whole or in small pieces), and reads the records the
// application sends back, demultiplexed per request id, while checking that
// the application itself speaks FastCGI correctly.
//
// Typical use:
//   FcgiTestClient client;
//   REQUIRE(client.Connect(server.address()).ok());
//   FcgiResponse r = client.Request({{"REQUEST_METHOD", "GET"}, {"SCRIPT_NAME", "/x"}});
//   REQUIRE(r.ok());                            // ended, no failure, no protocol error
//   CgiResponse cgi = SplitCgiResponse(r.stdout_data);
//   CHECK(cgi.status == 200);
//   CHECK(cgi.Header("content-type") == "text/plain");
//
// Lower level: Send(RequestBytes(spec), /*piece_size=*/1) then ReadUntilEnd(id);
// several ids then ReadUntilAllEnded({1, 2}); GetValuesBytes(...) then
// ReadManagementRecord(); WaitForClose() to see whether the peer hung up.
//
// Timeouts: every wait is bounded by a deadline (default 10 s, see
// set_timeout and the per-call `timeout` arguments, where kDefaultTimeout
// means "the client's timeout"). A timeout is reported as a failure value
// (FcgiResponse::failure, ManagementRecord::failure, a non-OK Status); the
// client never blocks without a deadline and never throws. SIGPIPE is avoided
// (MSG_NOSIGNAL).
//
// Protocol checking: the client parses the bytes it sends too, so it knows
// which request ids were begun, whoever built the bytes. Records from the
// application for an id never begun, anything for an id after its
// END_REQUEST, a version other than 1, types an application must not send,
// management types with a non-zero id, short END_REQUEST bodies, unknown
// protocolStatus values and STDOUT/STDERR data after the stream's empty
// record are all recorded as protocol errors (FcgiResponse::protocol_errors,
// and protocol_errors() for the connection). If the test sends bytes the
// client cannot parse (a deliberately broken record), begun-id tracking stops
// and records for any id are accepted from then on.
//
// Threading: none. One client per connection; not copyable.
#ifndef FCGI_RUN_TESTS_SUPPORT_FCGI_TEST_CLIENT_H_
#define FCGI_RUN_TESTS_SUPPORT_FCGI_TEST_CLIENT_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/fcgi_name_value.h"
#include "core/fcgi_protocol.h"
#include "core/fcgi_record_parser.h"
#include "core/status.h"

namespace fcgi::test {

using Millis = std::chrono::milliseconds;
inline constexpr Millis kDefaultClientTimeout{10000};
inline constexpr Millis kDefaultTimeout{-1};  // "use the client's timeout"

// ---------------------------------------------------------------------------
// Building request bytes. Pure functions; nothing is sent.
//
// `split` (where taken) gives the content sizes of the stream's records, in
// order: {1, 1, 5} sends the first byte, the second byte, the next five; what
// is left after the list goes out in records of up to 65535 bytes. Zeros are
// skipped (an empty record would end the stream) and sizes above 65535 are
// clamped. Data-only builders never append the stream's empty end record; the
// Empty*Bytes builders do that.
// ---------------------------------------------------------------------------

using Split = std::vector<size_t>;

std::string BeginRequestBytes(uint16_t id, Role role = Role::kResponder, bool keep_conn = false);
std::string BeginRequestRawBytes(uint16_t id, uint16_t role, uint8_t flags);  // any role/flags
std::string ParamsBytes(uint16_t id, const NameValuePairs& params, const Split& split = {});
std::string EmptyParamsBytes(uint16_t id);
std::string StdinBytes(uint16_t id, std::string_view data, const Split& split = {});
std::string EmptyStdinBytes(uint16_t id);
std::string DataBytes(uint16_t id, std::string_view data, const Split& split = {});
std::string EmptyDataBytes(uint16_t id);
std::string AbortRequestBytes(uint16_t id);
std::string GetValuesBytes(const std::vector<std::string>& names);  // id 0
// Any stream's data records (no end record).
std::string StreamBytes(RecordType type, uint16_t id, std::string_view data, const Split& split = {});
// One record exactly as given (any version, type, padding, reserved byte;
// padding bytes are zeros). REQUIRES: content.size() <= 65535.
std::string RawRecordBytes(uint8_t version, uint8_t type, uint16_t id, std::string_view content,
                           uint8_t padding_length = 0, uint8_t reserved = 0);

// A whole request, the way a web server sends it.
struct RequestSpec {
  uint16_t id = 1;
  Role role = Role::kResponder;
  bool keep_conn = false;
  NameValuePairs params;
  std::string stdin_body;
  bool send_stdin = true;  // false: no STDIN records at all (mod_fcgid AUTHORIZER)
  std::string data;        // FILTER: the DATA stream, sent after STDIN
  Split params_split;
  Split stdin_split;
  Split data_split;
};
// BEGIN_REQUEST, PARAMS data + empty PARAMS, STDIN data + empty STDIN (if
// send_stdin), and for Role::kFilter DATA data + empty DATA.
std::string RequestBytes(const RequestSpec& spec);

// ---------------------------------------------------------------------------
// What the application sent back.
// ---------------------------------------------------------------------------

struct ReceivedRecord {
  uint8_t type = 0;
  size_t content_length = 0;
};

// Everything received for one request (one BEGIN_REQUEST of one id).
struct FcgiResponse {
  uint16_t request_id = 0;
  std::string stdout_data;      // all STDOUT content, concatenated
  std::string stderr_data;      // all STDERR content, concatenated
  bool stdout_closed = false;   // the empty STDOUT record arrived
  bool stderr_closed = false;   // the empty STDERR record arrived
  bool ended = false;           // END_REQUEST arrived
  uint32_t app_status = 0;      // from END_REQUEST
  uint8_t protocol_status = 0;  // from END_REQUEST (ProtocolStatus values)
  size_t stdout_records = 0;    // STDOUT records, the empty one included
  size_t stderr_records = 0;
  std::vector<ReceivedRecord> records;       // every record for this id, in arrival order
  std::vector<std::string> protocol_errors;  // this id's + the connection's
  std::string failure;  // "" or why the wait ended early: timeout, peer closed, I/O error

  // Ended, no failure, no protocol error, protocolStatus REQUEST_COMPLETE.
  bool ok() const;
  // One paragraph for test failure messages (status, sizes, errors, head of output).
  std::string Describe() const;
};

// One management (id 0) record from the application.
struct ManagementRecord {
  uint8_t type = 0;  // kGetValuesResult or kUnknownType normally
  std::string content;
  NameValuePairs values;     // GET_VALUES_RESULT, decoded
  uint8_t unknown_type = 0;  // UNKNOWN_TYPE body
  std::string failure;       // "" or timeout / closed / undecodable body
  bool ok() const { return failure.empty(); }
  // Value of `name` in `values`, "" if absent.
  std::string Value(std::string_view name) const;
};

// ---------------------------------------------------------------------------
// The connection.
// ---------------------------------------------------------------------------

class FcgiTestClient {
 public:
  explicit FcgiTestClient(Millis timeout = kDefaultClientTimeout) : timeout_(timeout) {}
  ~FcgiTestClient();
  FcgiTestClient(const FcgiTestClient&) = delete;
  FcgiTestClient& operator=(const FcgiTestClient&) = delete;

  // Connects to "unix:/path", "tcp:HOST:PORT" or "tcp:[V6]:PORT", retrying
  // while the listener's backlog is full, until the timeout.
  Status Connect(std::string_view address, Millis timeout = kDefaultTimeout);
  // Takes ownership of an already connected socket (e.g. one end of a
  // socketpair). Made non-blocking.
  void Adopt(int fd);
  bool connected() const { return fd_ >= 0; }
  int fd() const { return fd_; }

  void set_timeout(Millis timeout) { timeout_ = timeout; }
  Millis timeout() const { return timeout_; }

  // Sends `bytes`; piece_size > 0 sends them in separate writes of that many
  // bytes (TCP_NODELAY is set), sleeping `pause` between pieces. Records that
  // arrive meanwhile are read and collected (so a server that answers before
  // it has read everything cannot deadlock the test). Error when the peer
  // closed or the whole send took longer than the timeout.
  Status Send(std::string_view bytes, size_t piece_size = 0, Millis pause = Millis(0),
              Millis timeout = kDefaultTimeout);

  // Sends RequestBytes(spec) and reads until that request's END_REQUEST.
  FcgiResponse Request(const RequestSpec& spec, Millis timeout = kDefaultTimeout);
  // The simple case: id 1, RESPONDER, keep_conn false (the application may
  // close the connection afterwards, as with nginx's default).
  FcgiResponse Request(const NameValuePairs& params, std::string_view stdin_body = "",
                       Millis timeout = kDefaultTimeout);

  // Reads until the oldest not yet returned request of `id` has its
  // END_REQUEST, and returns it (removing it from the client). On timeout,
  // peer close or I/O error: what arrived so far, with `failure` set.
  FcgiResponse ReadUntilEnd(uint16_t id, Millis timeout = kDefaultTimeout);
  // Same for several ids, one deadline for all; results in the order of `ids`.
  std::vector<FcgiResponse> ReadUntilAllEnded(const std::vector<uint16_t>& ids,
                                              Millis timeout = kDefaultTimeout);
  // The next management record (id 0), waiting for one if none is queued.
  ManagementRecord ReadManagementRecord(Millis timeout = kDefaultTimeout);
  // Reads (collecting records) until the peer closes the connection: true if
  // it did within the timeout, false on timeout or I/O error.
  bool WaitForClose(Millis timeout = kDefaultTimeout);
  // Reads whatever arrives for `duration` (collecting records); false if the
  // peer closed meanwhile. For "nothing more must come" assertions.
  bool ReadFor(Millis duration);

  // Half-close (SHUT_WR): the application sees EOF on its side.
  void ShutdownWrite();
  // Closes the connection (as a web server does when its client goes away).
  void Close();

  bool peer_closed() const { return peer_closed_; }
  // Connection-level protocol errors (also copied into every FcgiResponse).
  const std::vector<std::string>& protocol_errors() const { return connection_errors_; }
  // Requests of `id` begun and not yet returned by ReadUntilEnd.
  size_t PendingRequests(uint16_t id) const;
  // Whether the oldest of them has its END_REQUEST (what arrived so far,
  // without reading: for tests that run the application in their own thread).
  bool Ended(uint16_t id) const;
  size_t bytes_received() const { return bytes_received_; }

 private:
  using Clock = std::chrono::steady_clock;
  enum class ReadResult { kData, kTimeout, kClosed, kError };

  Clock::time_point DeadlineFor(Millis timeout) const;
  // Waits for input until `deadline` (at most one recv) and processes it.
  // kError leaves the reason in io_error_.
  ReadResult ReadSome(Clock::time_point deadline);
  std::string FailureText(ReadResult result, const std::string& waiting_for, Millis timeout) const;
  void ProcessIncoming(std::string_view bytes);
  void HandleRecord(const Record& record);
  // Parses our own outgoing bytes to learn which request ids are begun.
  void TrackOutgoing(std::string_view bytes);
  // The oldest request of `id` without END_REQUEST, or null.
  FcgiResponse* ActiveResponse(uint16_t id);
  // To `response`, or to the connection's errors when null.
  void AddError(FcgiResponse* response, std::string error);
  // The oldest request of `id`: removed when complete (failure ""), else a copy.
  FcgiResponse Finish(uint16_t id, std::string failure);

  int fd_ = -1;
  Millis timeout_;
  bool peer_closed_ = false;
  bool incoming_broken_ = false;  // the application sent an unparseable stream
  bool track_outgoing_ = true;    // our own bytes parse; begun ids are known
  RecordParser incoming_;
  RecordParser outgoing_;
  std::map<uint16_t, std::deque<FcgiResponse>> requests_;  // per id, oldest first
  std::set<uint16_t> ended_ids_;                           // ids whose latest request has ended
  std::deque<ManagementRecord> management_;
  std::vector<std::string> connection_errors_;
  size_t bytes_received_ = 0;
  std::string io_error_;
};

// Connects to `address`, runs one Request(params, stdin_body), closes.
// A connect failure is reported in `failure`.
FcgiResponse RequestOnce(std::string_view address, const NameValuePairs& params,
                         std::string_view stdin_body = "", Millis timeout = kDefaultClientTimeout);

// ---------------------------------------------------------------------------
// Splitting a CGI response (STDOUT bytes) into status, headers and body.
// ---------------------------------------------------------------------------

struct CaseInsensitiveLess {
  bool operator()(std::string_view a, std::string_view b) const;
  using is_transparent = void;
};

struct CgiResponse {
  bool ok = false;     // a blank line ended a well-formed header block
  std::string error;   // why not ok
  int status = 200;    // the Status header's code (or an NPH status line's), else 200
  std::string reason;  // its reason phrase, "" if none
  bool has_status_header = false;
  std::string status_line;  // "HTTP/1.1 200 OK" if the output began with one (NPH), else ""
  // Header names as sent, values with surrounding blanks trimmed; duplicates kept.
  std::multimap<std::string, std::string, CaseInsensitiveLess> headers;
  std::vector<std::pair<std::string, std::string>> header_list;  // in order
  std::string body;

  // First value of `name` (any case), "" if absent.
  std::string Header(std::string_view name) const;
  bool HasHeader(std::string_view name) const { return headers.count(name) > 0; }
  // Every value of `name`, in order.
  std::vector<std::string> HeaderValues(std::string_view name) const;
};

// Lines may end in CRLF or LF. A header line without a colon, or output that
// ends before the blank line, gives ok == false (with what was parsed so far).
CgiResponse SplitCgiResponse(std::string_view stdout_bytes);

}  // namespace fcgi::test

#endif  // FCGI_RUN_TESTS_SUPPORT_FCGI_TEST_CLIENT_H_
