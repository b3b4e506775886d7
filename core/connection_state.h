// ConnectionState: the FastCGI protocol state of one connection, without I/O.
//
// The owner (launcher/front/connection.cc) feeds it the bytes read from the socket;
// it parses records, keeps the table of active request ids, answers what the
// protocol answers by itself (GET_VALUES_RESULT, UNKNOWN_TYPE, END_REQUEST with
// UNKNOWN_ROLE / OVERLOADED, errors in a request's PARAMS) and reports the rest
// to a ConnectionEvents sink. Everything the connection sends goes through the
// Append* methods, which refuse to emit a record for an id that is not active:
// no record ever follows a request's END_REQUEST.
//
// Rules (FastCGI 1.0 plus the choices documented in docs/protocol.md "FastCGI"):
//  - BEGIN_REQUEST for an active id, records for unknown ids, ABORT for an
//    unknown id, application record types we never receive (STDOUT, STDERR,
//    END_REQUEST, ...) with a non-zero id: ignored (counted in ignored_records()).
//  - Management records (id 0): GET_VALUES answered with the known names that
//    were asked for; any other type gets UNKNOWN_TYPE {type}.
//  - Unknown role: END_REQUEST UNKNOWN_ROLE at once. More than
//    limits.max_requests active ids: END_REQUEST OVERLOADED at once.
//  - PARAMS over limits.max_params_bytes, or malformed pairs: a 431/400 CGI
//    error response and END_REQUEST for that request only.
//  - STDIN or DATA before the PARAMS stream ended: a protocol error (the
//    connection is closed); STDIN/DATA after their stream ended: ignored.
//  - ABORT_REQUEST for a request still in PARAMS: ended here (appStatus 0);
//    for a running request: OnAbort, and the owner must call EndRequest.
//  - A request without KEEP_CONN that ends asks the owner to close the
//    connection once no request remains active (ShouldClose()).
//  - PeerInputComplete() tells the owner whether the peer can still send
//    anything it expects us to read: a request may end before its empty STDIN
//    (or DATA) record arrived, and a peer like Apache then writes it after our
//    END_REQUEST; closing before reading it would fail that write.
//
// Lifetime: `events` must outlive this object. Not thread-safe.
#ifndef FCGI_RUN_CORE_CONNECTION_STATE_H_
#define FCGI_RUN_CORE_CONNECTION_STATE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/error_pages.h"
#include "core/fcgi_name_value.h"
#include "core/fcgi_protocol.h"
#include "core/fcgi_record_parser.h"
#include "core/status.h"

namespace fcgi {

class ConnectionEvents {
 public:
  virtual ~ConnectionEvents() = default;
  // The PARAMS stream of request `id` ended: the request can start.
  virtual void OnRequestReady(uint16_t id, Role role, bool keep_conn, NameValuePairs params) = 0;
  // A STDIN record's data (never empty) / the empty STDIN record.
  virtual void OnStdin(uint16_t id, std::string_view data) = 0;
  virtual void OnStdinEnd(uint16_t id) = 0;
  // Same for the DATA stream (FILTER role).
  virtual void OnData(uint16_t id, std::string_view data) = 0;
  virtual void OnDataEnd(uint16_t id) = 0;
  // ABORT_REQUEST for a running request. The owner stops it and calls EndRequest.
  virtual void OnAbort(uint16_t id) = 0;
};

struct ConnectionLimits {
  size_t max_params_bytes = kDefaultMaxParamsBytes;
  size_t max_requests = 1024;  // active request ids on one connection
  // Values reported to GET_VALUES.
  uint32_t max_conns = 1024;
  uint32_t max_reqs = 1024;
};

class ConnectionState {
 public:
  ConnectionState(ConnectionEvents* events, const ConnectionLimits& limits);
  ConnectionState(const ConnectionState&) = delete;
  ConnectionState& operator=(const ConnectionState&) = delete;

  // Consumes socket bytes; records the protocol answers by itself are
  // appended to *output. A non-OK Status means the stream is unusable: the
  // owner logs it and closes the connection (active requests are then
  // aborted by the owner).
  Status Feed(std::string_view bytes, std::string* output);

  // Output of running requests. Each returns false (and appends nothing)
  // when `id` is not active.
  bool AppendStdout(uint16_t id, std::string_view data, std::string* output);
  bool AppendStderr(uint16_t id, std::string_view data, std::string* output);
  // Ends the request: the empty STDOUT record (and empty STDERR if any stderr
  // was sent), then END_REQUEST. Returns false when `id` is not active.
  bool EndRequest(uint16_t id, uint32_t app_status, ProtocolStatus status, std::string* output);

  bool IsActive(uint16_t id) const { return requests_.count(id) != 0; }
  bool IsRunning(uint16_t id) const;
  size_t active_requests() const { return requests_.size(); }
  // True when a request without KEEP_CONN has ended and none is active.
  bool ShouldClose() const { return close_requested_ && requests_.empty(); }
  uint64_t ignored_records() const { return ignored_records_; }
  // True when no partial record is buffered.
  bool AtRecordBoundary() const { return parser_.AtRecordBoundary(); }
  // True when the peer has sent everything it will send for every request
  // this connection has seen: no request is active, every ended request had
  // its empty STDIN record (and, for FILTER, its empty DATA record) fed
  // here, possibly after its END_REQUEST, and no partial record is buffered.
  // False after a request refused at BEGIN_REQUEST (UNKNOWN_ROLE,
  // OVERLOADED) or ended during its PARAMS stream (what follows is unknown),
  // and for an AUTHORIZER that got no STDIN record (mod_fcgid sends none).
  // Bytes not yet fed are the owner's to account for.
  bool PeerInputComplete() const;
  // The most PARAMS bytes any request still in its PARAMS stream holds
  // (bounded by limits.max_params_bytes; for tests and fuzzers).
  size_t LargestParamsBuffer() const;

 private:
  struct Request {
    Role role = Role::kResponder;
    bool keep_conn = false;
    bool running = false;  // PARAMS ended, owner told
    bool stdin_ended = false;
    bool data_ended = false;
    bool stderr_sent = false;
    std::unique_ptr<NameValueStreamDecoder> params;  // while !running
  };

  Status HandleRecord(const Record& record, std::string* output);
  void HandleManagement(const Record& record, std::string* output);
  void HandleBegin(const Record& record, std::string* output);
  void HandleParams(uint16_t id, Request* request, std::string_view content, std::string* output);
  void RejectRequest(uint16_t id, ErrorPage page, std::string_view why, std::string* output);
  void Forget(uint16_t id);

  // The input streams of an ended request the peer has not closed yet.
  struct UnfinishedInput {
    bool stdin_open = false;
    bool data_open = false;
  };
  // An ignored record for inactive `id`: closes its unfinished input streams.
  void NoteLateRecord(uint16_t id, RecordType type, bool empty);

  ConnectionEvents* events_;
  ConnectionLimits limits_;
  RecordParser parser_;
  std::unordered_map<uint16_t, Request> requests_;
  std::unordered_map<uint16_t, UnfinishedInput> unfinished_input_;
  bool input_unknown_ = false;  // the peer may send records we cannot foresee
  bool close_requested_ = false;
  uint64_t ignored_records_ = 0;
};

}  // namespace fcgi

#endif  // FCGI_RUN_CORE_CONNECTION_STATE_H_
