#include "core/status.h"

#include <catch2/catch.hpp>

#include <cerrno>
#include <cstring>

namespace fcgi {
namespace {

TEST_CASE("A default Status is OK", "[status]") {
  Status s;
  CHECK(s.ok());
  CHECK(s.code() == Status::Code::kOk);
  CHECK(s.message().empty());
  CHECK(s.ToString() == "OK");
  CHECK(Status::Ok().ok());
}

TEST_CASE("Named constructors carry their code and message", "[status]") {
  CHECK(Status::Protocol("p").code() == Status::Code::kProtocolError);
  CHECK(Status::Limit("l").code() == Status::Code::kLimitExceeded);
  CHECK(Status::Invalid("i").code() == Status::Code::kInvalidArgument);
  CHECK(Status::NotFound("n").code() == Status::Code::kNotFound);
  CHECK(Status::Denied("d").code() == Status::Code::kPermissionDenied);
  CHECK(Status::Unavailable("u").code() == Status::Code::kUnavailable);
  Status s = Status::Protocol("bad record");
  CHECK_FALSE(s.ok());
  CHECK(s.message() == "bad record");
  CHECK(s.ToString() == "bad record");
}

TEST_CASE("FromErrno names the syscall and the object", "[status]") {
  Status s = Status::FromErrno("bind(2)", "/run/app.sock", EADDRINUSE);
  CHECK(s.code() == Status::Code::kSystemError);
  CHECK(s.message() == std::string("bind(2) /run/app.sock: ") + std::strerror(EADDRINUSE));
  Status no_object = Status::FromErrno("fork(2)", "", EAGAIN);
  CHECK(no_object.message() == std::string("fork(2): ") + std::strerror(EAGAIN));
}

TEST_CASE("FromErrno maps errno values to codes", "[status]") {
  CHECK(Status::FromErrno("open(2)", "x", ENOENT).code() == Status::Code::kNotFound);
  CHECK(Status::FromErrno("open(2)", "x", EACCES).code() == Status::Code::kPermissionDenied);
  CHECK(Status::FromErrno("kill(2)", "1", EPERM).code() == Status::Code::kPermissionDenied);
  CHECK(Status::FromErrno("fork(2)", "", EAGAIN).code() == Status::Code::kUnavailable);
  CHECK(Status::FromErrno("accept(2)", "", EMFILE).code() == Status::Code::kUnavailable);
  CHECK(Status::FromErrno("accept(2)", "", ENFILE).code() == Status::Code::kUnavailable);
  CHECK(Status::FromErrno("mmap(2)", "", ENOMEM).code() == Status::Code::kUnavailable);
  CHECK(Status::FromErrno("read(2)", "fd 3", EIO).code() == Status::Code::kSystemError);
}

}  // namespace
}  // namespace fcgi
