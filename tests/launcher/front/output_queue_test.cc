#include "launcher/front/output_queue.h"

#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <catch2/catch.hpp>
#include <string>
#include <vector>

namespace fcgi {
namespace {

// The queue writes to one end of a SOCK_SEQPACKET pair, so that every send(2)
// arrives at the other end as one message: the test counts the writes.
struct Pair {
  boost::asio::io_context io;
  boost::asio::generic::stream_protocol::socket socket{io};
  int peer = -1;
  int errors = 0;
  int completions = 0;

  Pair() {
    int fds[2];
    REQUIRE(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) == 0);
    socket.assign(boost::asio::generic::stream_protocol(AF_UNIX, 0), fds[0]);
    peer = fds[1];
  }
  ~Pair() { ::close(peer); }

  auto OnDone() {
    return [this](const boost::system::error_code& ec) {
      ++completions;
      if (ec) ++errors;
    };
  }
  // Every message waiting at the peer, one string per send(2).
  std::vector<std::string> Messages() {
    std::vector<std::string> out;
    char buf[4096];
    for (;;) {
      ssize_t n = recv(peer, buf, sizeof buf, MSG_DONTWAIT);
      if (n < 0) break;
      out.emplace_back(buf, static_cast<size_t>(n));
    }
    return out;
  }
};

TEST_CASE("OutputQueue::FlushSoon sends what one reactor turn appends in one write", "[output_queue]") {
  Pair p;
  OutputQueue q;
  boost::asio::post(p.io, [&] {
    q.Append("STDOUT");
    q.FlushSoon(p.socket, p.OnDone());
    CHECK(q.flush_posted());
    CHECK_FALSE(q.idle());
    CHECK(q.backlog() == 6);  // pending bytes count as backlog
    q.Append("+END");
    q.FlushSoon(p.socket, p.OnDone());  // already posted: no second flush
  });
  boost::asio::post(p.io, [&] { CHECK(p.Messages().empty()); });  // handlers queued before it ran first
  p.io.run();
  CHECK(p.Messages() == std::vector<std::string>{"STDOUT+END"});
  CHECK(p.completions == 1);
  CHECK(p.errors == 0);
  CHECK(q.idle());
  CHECK_FALSE(q.flush_posted());
}

TEST_CASE("OutputQueue::Flush writes at once; appends during the write go in the next one",
          "[output_queue]") {
  Pair p;
  OutputQueue q;
  q.Append("one");
  q.Flush(p.socket, [&](const boost::system::error_code& ec) {
    CHECK_FALSE(ec);
    q.Flush(p.socket, p.OnDone());
  });
  CHECK(q.writing());
  q.Append("two");
  q.Append("three");
  q.FlushSoon(p.socket, p.OnDone());  // a write is in flight: its completion flushes
  CHECK_FALSE(q.flush_posted());
  p.io.run();
  CHECK(p.Messages() == std::vector<std::string>{"one", "twothree"});
  CHECK(p.completions == 1);
  CHECK(q.idle());
}

TEST_CASE("OutputQueue::WritePostedNow sends a posted flush's bytes before a close", "[output_queue]") {
  Pair p;
  OutputQueue q;
  q.Append("error response");
  q.FlushSoon(p.socket, p.OnDone());
  q.WritePostedNow(p.socket.native_handle());
  CHECK(p.Messages() == std::vector<std::string>{"error response"});
  CHECK(q.idle());
  p.io.run();  // the posted flush was cancelled: nothing more, no completion
  CHECK(p.Messages().empty());
  CHECK(p.completions == 0);
}

TEST_CASE("OutputQueue::WritePostedNow does nothing without a posted flush", "[output_queue]") {
  Pair p;
  OutputQueue q;
  q.Append("not asked for");
  q.WritePostedNow(p.socket.native_handle());
  CHECK(p.Messages().empty());
  CHECK(q.backlog() == 13);
}

TEST_CASE("OutputQueue::ClearPending cancels a posted flush", "[output_queue]") {
  Pair p;
  OutputQueue q;
  q.Append("dropped");
  q.FlushSoon(p.socket, p.OnDone());
  q.ClearPending();
  p.io.run();
  CHECK(p.Messages().empty());
  CHECK(p.completions == 0);
  CHECK(q.idle());
}

}  // namespace
}  // namespace fcgi
