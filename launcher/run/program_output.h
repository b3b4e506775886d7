// ProgramOutput: the launcher's read ends of the pipes a program run writes
// its stdout and stderr into, on the reactor.
//
// Two kinds:
//  - a request's own (exec and fork modes, persistent mode's fallbacks):
//    made by Create() for one run and closed with it; the output ends when
//    the program has exited and the pipes are empty (or at EOF);
//  - resident (persistent mode): a worker's, registered with the reactor
//    once and lent to one request at a time; the worker's program writes the
//    output of every request into the same pipes (core/control_protocol.h,
//    "Resident output"). The request gives it back with Return() once it
//    has read what the program wrote before it exited; the worker runs its
//    next request only after that. clean = false (the request stopped reading
//    early, or a pipe broke) makes the worker drop these pipes and give the
//    next request new ones.
//
// Ownership: shared by the request reading it and, when resident, the worker
// that lends it. Closing happens when the last owner lets go (or earlier,
// explicitly, to make a program that keeps writing get EPIPE).
#ifndef FCGI_RUN_LAUNCHER_RUN_PROGRAM_OUTPUT_H_
#define FCGI_RUN_LAUNCHER_RUN_PROGRAM_OUTPUT_H_

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <utility>

#include "core/status.h"

namespace fcgi {

class ProgramOutput {
 public:
  explicit ProgramOutput(boost::asio::io_context& io) : out(io), err(io) {}
  ProgramOutput(const ProgramOutput&) = delete;
  ProgramOutput& operator=(const ProgramOutput&) = delete;

  // Makes both pipes (close-on-exec): the read ends go into *output, the
  // write ends into *out_write / *err_write, which the caller owns. `object`
  // names the program in the error ("pipe2(2) stdout of hello.cgi: ...").
  static Status Create(boost::asio::io_context& io, const std::string& object,
                       std::shared_ptr<ProgramOutput>* output, int* out_write, int* err_write);

  boost::asio::posix::stream_descriptor out;
  boost::asio::posix::stream_descriptor err;

  // Resident output: the lender lends it to one borrower at a time; each
  // loan has its own number, so a late Return by an earlier borrower cannot
  // end a later loan.
  bool resident() const { return resident_; }
  // Returns the loan's number (never 0).
  uint64_t Lend(std::function<void(bool clean)> on_return) {
    resident_ = true;
    on_return_ = std::move(on_return);
    return ++loan_;
  }
  uint64_t loan() const { return on_return_ ? loan_ : 0; }  // 0: not lent
  // The borrower of `loan` is done (later calls, or other loans: nothing).
  void Return(uint64_t loan, bool clean) {
    if (loan == 0 || loan != loan_ || !on_return_) return;
    auto cb = std::move(on_return_);
    on_return_ = nullptr;
    cb(clean);
  }

 private:
  bool resident_ = false;
  uint64_t loan_ = 0;
  std::function<void(bool clean)> on_return_;
};

}  // namespace fcgi

#endif  // FCGI_RUN_LAUNCHER_RUN_PROGRAM_OUTPUT_H_
