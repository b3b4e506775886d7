// Connection: one FastCGI connection from a web server, on the reactor.
//
// Reads the socket into ConnectionState (the pure protocol machine), creates a
// CgiRequest per request, and writes everything the protocol and the requests
// produce, one async_write at a time. A write starts at the end of the reactor
// turn (a posted handler), so that what one turn appends (STDOUT, then
// END_REQUEST) leaves in one send(2); it starts at once when the connection is
// closing (nothing more can follow) and when the previous write completes.
// Output is bounded: requests stop reading their program when OutputBacklog()
// (pending bytes included) exceeds --buffer and are resumed when the socket
// drains. Input is bounded: reading stops while a request holds more than
// --buffer bytes of stdin not yet taken by its program.
//
// After the last response (KEEP_CONN off, or graceful shutdown) the socket is
// closed at once when the peer has sent all it will send
// (ConnectionState::PeerInputComplete and the last read drained the socket);
// otherwise the connection lingers: half-close, discard input until the
// peer's EOF, for at most a second.
//
// Ownership: created as shared_ptr by the Server's accept loop; kept alive by
// its own pending I/O and by its running requests. Closing it (peer gone,
// protocol error, KEEP_CONN off, shutdown) aborts the requests still running.
#ifndef FCGI_RUN_LAUNCHER_FRONT_CONNECTION_H_
#define FCGI_RUN_LAUNCHER_FRONT_CONNECTION_H_

#include <array>
#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/connection_state.h"
#include "launcher/front/output_queue.h"
#include "launcher/request/request_sink.h"
#include "launcher/request/server_context.h"

namespace fcgi {

class CgiRequest;

class Connection : public std::enable_shared_from_this<Connection>,
                   public RequestSink,
                   private ConnectionEvents {
 public:
  using Socket = boost::asio::generic::stream_protocol::socket;

  Connection(ServerContext& ctx, Socket socket, std::string peer);
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection() override;

  void Start();
  // Stops reading new requests (graceful shutdown); running ones finish.
  void StopReading();
  // Closes the connection now; its running requests are aborted.
  void Abort(std::string_view why) { Close(why); }

  // RequestSink (called by requests).
  void SendStdout(uint16_t id, std::string_view data) override;
  void SendStderr(uint16_t id, std::string_view data) override;
  void FinishRequest(uint16_t id, uint32_t app_status, ProtocolStatus status) override;
  size_t OutputBacklog() const override { return output_.backlog(); }
  void WaitForOutputSpace(uint16_t id) override { output_waiters_.insert(id); }
  void StdinDrained() override;
  bool closed() const { return closed_; }
  const std::string& peer() const { return peer_; }

 private:
  // ConnectionEvents
  void OnRequestReady(uint16_t id, Role role, bool keep_conn, NameValuePairs params) override;
  void OnStdin(uint16_t id, std::string_view data) override;
  void OnStdinEnd(uint16_t id) override;
  void OnData(uint16_t id, std::string_view data) override;
  void OnDataEnd(uint16_t id) override;
  void OnAbort(uint16_t id) override;

  void Read();
  void OnRead(const boost::system::error_code& ec, size_t n);
  // Starts writing what is pending: at the end of this reactor turn (so that
  // everything appended meanwhile leaves in one send), or now.
  enum class FlushWhen { kEndOfTurn, kNow };
  void Flush(FlushWhen when = FlushWhen::kEndOfTurn);
  void OnWrite(const boost::system::error_code& ec);
  void CheckInputBackpressure(uint16_t id);
  // The running request `id` (a strong reference, so that it survives the
  // call it is given), or null when there is none.
  std::shared_ptr<CgiRequest> FindRequest(uint16_t id) const;
  // Everything is written and nothing more will be answered: close now when
  // the peer has nothing left to send, else linger.
  void Linger();
  enum class CloseHow {
    kShutdown,  // shutdown(2) both ways first (abort, error, end of linger)
    kPlain,     // close(2) only: everything was exchanged
  };
  void Close(std::string_view why, CloseHow how = CloseHow::kShutdown);

  ServerContext& ctx_;
  Socket socket_;
  boost::asio::steady_timer linger_timer_;
  std::string peer_;
  ConnectionState state_;
  std::array<char, 64 * 1024> read_buf_;
  bool reading_ = false;
  bool input_paused_ = false;
  bool stop_reading_ = false;
  bool closed_ = false;
  bool lingering_ = false;
  // The last read filled read_buf_: the socket may hold more unread bytes.
  bool last_read_full_ = false;
  OutputQueue output_;
  std::unordered_map<uint16_t, std::shared_ptr<CgiRequest>> requests_;
  std::set<uint16_t> output_waiters_;
};

}  // namespace fcgi

#endif  // FCGI_RUN_LAUNCHER_FRONT_CONNECTION_H_
