#include "launcher/shim/compat_channel.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <catch2/catch.hpp>

#include <cstring>

namespace fcgi {
namespace {

namespace proto = compat;

template <typename T>
std::string Raw(const T& value) {
  return std::string(reinterpret_cast<const char*>(&value), sizeof value);
}

TEST_CASE("compat_channel: RUN layout is header, env block, cwd", "[compat_channel]") {
  CompatRunRequest run;
  run.request_id = 0x1122334455667788ull;
  run.env = {"A=1", "PATH=/bin"};
  run.cwd = "/srv/www";
  CompatRunMessage message;
  REQUIRE(EncodeCompatRun(run, &message).ok());
  const std::string& out = message.bytes;
  CHECK(message.env_block.empty());
  proto::RunHeader h;
  REQUIRE(out.size() == sizeof h + 4 + 10 + 8);
  std::memcpy(&h, out.data(), sizeof h);
  CHECK(h.type == proto::kRun);
  CHECK(h.flags == 0);
  CHECK(h.request_id == 0x1122334455667788ull);
  CHECK(h.env_bytes == 14);
  CHECK(h.cwd_bytes == 8);
  CHECK(out.substr(sizeof h) == std::string("A=1\0PATH=/bin\0/srv/www", 22));

  run.parent_death_signal = false;
  run.env.clear();
  run.cwd.clear();
  REQUIRE(EncodeCompatRun(run, &message).ok());
  std::memcpy(&h, out.data(), sizeof h);
  CHECK(out.size() == sizeof h);
  CHECK(h.flags == proto::kRunNoParentDeathSignal);

  // Persistent mode's stdio flags travel as given, next to the death-signal bit.
  run.flags = proto::kRunStdinNull | proto::kRunKeepOutput | proto::kRunNoStarted;
  REQUIRE(EncodeCompatRun(run, &message).ok());
  std::memcpy(&h, out.data(), sizeof h);
  CHECK(h.flags == (proto::kRunNoParentDeathSignal | proto::kRunStdinNull | proto::kRunKeepOutput |
                    proto::kRunNoStarted));
}

TEST_CASE("compat_channel: RUN rejects malformed input", "[compat_channel]") {
  CompatRunRequest run;
  CompatRunMessage out;
  run.env = {"NOEQUALS"};
  CHECK(EncodeCompatRun(run, &out).code() == Status::Code::kInvalidArgument);
  run.env = {"=x"};
  CHECK(EncodeCompatRun(run, &out).code() == Status::Code::kInvalidArgument);
  run.env = {std::string("A=1\0B=2", 7)};
  CHECK(EncodeCompatRun(run, &out).code() == Status::Code::kInvalidArgument);
  run.env = {"A=1"};
  run.cwd = std::string("/a\0b", 4);
  CHECK(EncodeCompatRun(run, &out).code() == Status::Code::kInvalidArgument);
  run.cwd = "/" + std::string(proto::kMaxMessageBytes, 'd');
  CHECK(EncodeCompatRun(run, &out).code() == Status::Code::kLimitExceeded);
}

TEST_CASE("compat_channel: an environment too large for one message goes in a memfd", "[compat_channel]") {
  // Past kMaxMessageBytes bytes, or past kMaxEnvEntries entries: the message
  // keeps the header and the cwd, the block is for MakeEnvMemfd.
  for (std::vector<std::string> env :
       {std::vector<std::string>{"A=" + std::string(proto::kMaxMessageBytes, 'x')},
        std::vector<std::string>(proto::kMaxEnvEntries + 1, "A=1")}) {
    CompatRunRequest run;
    run.env = env;
    run.cwd = "/srv";
    CompatRunMessage out;
    REQUIRE(EncodeCompatRun(run, &out).ok());
    proto::RunHeader h;
    REQUIRE(out.bytes.size() == sizeof h + 4);
    std::memcpy(&h, out.bytes.data(), sizeof h);
    CHECK((h.flags & proto::kRunEnvMemfd) != 0);
    CHECK(h.env_bytes == out.env_block.size());
    CHECK(out.bytes.substr(sizeof h) == "/srv");
    std::string block;
    for (const std::string& e : env) block += e + '\0';
    CHECK(out.env_block == block);
  }
  // PrepareCompatRun hands out the memfd: sealed, holding exactly the block.
  CompatRunRequest run;
  run.env.assign(proto::kMaxEnvEntries + 1, "A=1");
  std::string message;
  int fd = -1;
  REQUIRE(PrepareCompatRun(run, &message, &fd).ok());
  REQUIRE(fd >= 0);
  CHECK(fcntl(fd, F_GET_SEALS) == (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL));
  CHECK(lseek(fd, 0, SEEK_END) == static_cast<off_t>(4 * (proto::kMaxEnvEntries + 1)));
  CHECK(write(fd, "x", 1) < 0);
  close(fd);
  // A small environment needs none.
  run.env = {"A=1"};
  REQUIRE(PrepareCompatRun(run, &message, &fd).ok());
  CHECK(fd == -1);
}

TEST_CASE("compat_channel: decodes every shim message", "[compat_channel]") {
  CompatMessage m;
  REQUIRE(DecodeCompatMessage(Raw(proto::HelloMessage{proto::kHello, 1, 42, 1, 1024, 131072}), &m).ok());
  REQUIRE(std::holds_alternative<CompatHello>(m));
  CHECK(std::get<CompatHello>(m).pid == 42);
  CHECK(std::get<CompatHello>(m).flags == proto::kHelloBindNow);
  CHECK(std::get<CompatHello>(m).max_children == 1024);
  CHECK(std::string(CompatMessageName(m)) == "HELLO");

  REQUIRE(
      DecodeCompatMessage(Raw(proto::RefusedMessage{proto::kRefused, proto::kRefuseThreads, 3, 9}), &m).ok());
  CHECK(std::get<CompatRefused>(m).reason == proto::kRefuseThreads);
  CHECK(std::get<CompatRefused>(m).error == 3);

  REQUIRE(DecodeCompatMessage(Raw(proto::StartedMessage{proto::kStarted, 77, 5}), &m).ok());
  CHECK(std::get<CompatStarted>(m).request_id == 5);
  CHECK(std::get<CompatStarted>(m).pid == 77);

  REQUIRE(DecodeCompatMessage(Raw(proto::FailedMessage{proto::kFailed, EAGAIN, 6}), &m).ok());
  CHECK(std::get<CompatFailed>(m).request_id == 6);
  CHECK(std::get<CompatFailed>(m).error == EAGAIN);

  REQUIRE(DecodeCompatMessage(Raw(proto::ExitedMessage{proto::kExited, 77, 5, 3 << 8, 0}), &m).ok());
  CHECK(std::get<CompatExited>(m).wait_status == 3 << 8);
  CHECK(std::string(CompatMessageName(m)) == "EXITED");

  REQUIRE(DecodeCompatMessage(Raw(proto::ByeMessage{proto::kBye, 42}), &m).ok());
  CHECK(std::get<CompatBye>(m).pid == 42);
}

TEST_CASE("compat_channel: rejects bad shim messages", "[compat_channel]") {
  CompatMessage m;
  CHECK(DecodeCompatMessage("", &m).code() == Status::Code::kProtocolError);
  CHECK(DecodeCompatMessage(Raw(uint32_t{999}), &m).message() == "compat: unknown message type 999");
  std::string started = Raw(proto::StartedMessage{proto::kStarted, 77, 5});
  CHECK(DecodeCompatMessage(started.substr(0, 12), &m).code() == Status::Code::kProtocolError);
  CHECK(DecodeCompatMessage(started + "x", &m).code() == Status::Code::kProtocolError);
  // A launcher-to-shim message is not something the launcher accepts.
  CHECK(DecodeCompatMessage(EncodeCompatShutdown(), &m).code() == Status::Code::kProtocolError);
}

TEST_CASE("compat_channel: send and receive keep boundaries and pass fds", "[compat_channel]") {
  int launcher = -1, shim = -1;
  REQUIRE(CreateCompatSocketPair(&launcher, &shim).ok());
  CHECK((fcntl(launcher, F_GETFL) & O_NONBLOCK) != 0);
  CHECK((fcntl(shim, F_GETFD) & FD_CLOEXEC) != 0);

  std::vector<std::string> in;
  auto collect = [&in](std::string_view m) {
    in.emplace_back(m);
    return true;
  };
  CHECK(ReceiveCompatMessages(launcher, collect).io == ChannelIo::kWouldBlock);
  CHECK(in.empty());

  // Launcher -> shim: a SIGNAL with one fd; the fd arrives and works.
  int pipe_fds[2];
  REQUIRE(pipe(pipe_fds) == 0);
  int to_send[] = {pipe_fds[1]};
  REQUIRE(SendCompatMessage(launcher, EncodeCompatSignal(7, 15), to_send).io == ChannelIo::kDone);
  close(pipe_fds[1]);
  char buffer[64];
  iovec iov{buffer, sizeof buffer};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  REQUIRE(recvmsg(shim, &msg, 0) == static_cast<ssize_t>(sizeof(proto::SignalMessage)));
  int got;
  std::memcpy(&got, CMSG_DATA(CMSG_FIRSTHDR(&msg)), sizeof got);
  REQUIRE(write(got, "ok", 2) == 2);
  close(got);
  REQUIRE(read(pipe_fds[0], buffer, sizeof buffer) == 2);
  close(pipe_fds[0]);

  // Shim -> launcher: two messages stay two messages.
  std::string a = Raw(proto::ByeMessage{proto::kBye, 1});
  std::string b = Raw(proto::StartedMessage{proto::kStarted, 2, 3});
  REQUIRE(send(shim, a.data(), a.size(), 0) == 8);
  REQUIRE(send(shim, b.data(), b.size(), 0) == 16);
  CHECK(ReceiveCompatMessages(launcher, collect).io == ChannelIo::kWouldBlock);
  CHECK(in == std::vector<std::string>{a, b});

  // Fill the launcher -> shim direction: kWouldBlock, never a block.
  std::string big(64 * 1024, 'x');
  ChannelResult r;
  for (int i = 0; i < 1000 && (r = SendCompatMessage(launcher, big)).io == ChannelIo::kDone; ++i) {
  }
  CHECK(r.io == ChannelIo::kWouldBlock);

  close(shim);
  CHECK(ReceiveCompatMessages(launcher, collect).io == ChannelIo::kClosed);
  CHECK(SendCompatMessage(launcher, "x").io == ChannelIo::kClosed);
  close(launcher);
}

TEST_CASE("compat_channel: batched receive delivers every message in order, once", "[compat_channel]") {
  int launcher = -1, shim = -1;
  REQUIRE(CreateCompatSocketPair(&launcher, &shim).ok());
  std::vector<std::string> got;
  auto collect = [&got](std::string_view m) {
    got.emplace_back(m);
    return true;
  };
  CHECK(ReceiveCompatMessages(launcher, collect).io == ChannelIo::kWouldBlock);
  CHECK(got.empty());

  // More messages than one recvmmsg(2) batch: all arrive, in order.
  std::vector<std::string> sent;
  for (uint32_t i = 0; i < 11; ++i) {
    sent.push_back(Raw(proto::StartedMessage{proto::kStarted, i, 100 + i}));
    REQUIRE(send(shim, sent.back().data(), sent.back().size(), 0) == 16);
  }
  CHECK(ReceiveCompatMessages(launcher, collect).io == ChannelIo::kWouldBlock);
  CHECK(got == sent);

  // The callback can stop (callers do once the process is failed or gone).
  got.clear();
  std::string a = Raw(proto::ByeMessage{proto::kBye, 1});
  REQUIRE(send(shim, a.data(), a.size(), 0) == 8);
  CHECK(ReceiveCompatMessages(launcher, [&got](std::string_view m) {
          got.emplace_back(m);
          return false;
        }).io == ChannelIo::kDone);
  CHECK(got == std::vector<std::string>{a});

  // A message with an fd is a protocol error, and the fd is closed.
  int pipe_fds[2];
  REQUIRE(pipe(pipe_fds) == 0);
  int to_send[] = {pipe_fds[1]};
  REQUIRE(SendCompatMessage(shim, a, to_send).io == ChannelIo::kDone);
  close(pipe_fds[1]);
  CHECK(ReceiveCompatMessages(launcher, collect).io == ChannelIo::kError);
  char byte;
  CHECK(read(pipe_fds[0], &byte, 1) == 0);  // no write end left anywhere: EOF
  close(pipe_fds[0]);

  // An oversized message (past kMaxShimMessageBytes) is one too.
  std::string big(kMaxShimMessageBytes + 1000, 'x');
  REQUIRE(send(shim, big.data(), big.size(), 0) == static_cast<ssize_t>(big.size()));
  CHECK(ReceiveCompatMessages(launcher, collect).io == ChannelIo::kError);

  close(shim);
  CHECK(ReceiveCompatMessages(launcher, collect).io == ChannelIo::kClosed);
  close(launcher);
}

TEST_CASE("compat_channel: a message of the largest size is received whole", "[compat_channel]") {
  int launcher = -1, shim = -1;
  REQUIRE(CreateCompatSocketPair(&launcher, &shim).ok());
  std::string msg(kMaxShimMessageBytes, 'z');
  REQUIRE(send(shim, msg.data(), msg.size(), 0) == static_cast<ssize_t>(msg.size()));
  std::vector<std::string> got;
  CHECK(ReceiveCompatMessages(launcher, [&got](std::string_view m) {
          got.emplace_back(m);
          return true;
        }).io == ChannelIo::kWouldBlock);
  CHECK(got == std::vector<std::string>{msg});
  // One byte more than any shim message is cut: a protocol error.
  std::string too_long = msg + "z";
  REQUIRE(send(shim, too_long.data(), too_long.size(), 0) == static_cast<ssize_t>(too_long.size()));
  CHECK(ReceiveCompatMessages(launcher, [](std::string_view) { return true; }).io == ChannelIo::kError);
  close(shim);
  close(launcher);
}

}  // namespace
}  // namespace fcgi
