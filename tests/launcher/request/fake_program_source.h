// FakeProgramSource: a ProgramSource that answers every request with the
// program "/srv/app.cgi" (display name "app.cgi") run by the runner it was
// given, typically a FakeProgramRunner (tests/launcher/run/).
#ifndef FCGI_RUN_TESTS_LAUNCHER_REQUEST_FAKE_PROGRAM_SOURCE_H_
#define FCGI_RUN_TESTS_LAUNCHER_REQUEST_FAKE_PROGRAM_SOURCE_H_

#include "launcher/request/program_source.h"

namespace fcgi::test {

class FakeProgramSource : public ProgramSource {
 public:
  explicit FakeProgramSource(ProgramRunner* runner) : runner_(runner) {}
  Status Resolve(const NameValuePairs&, ResolvedProgram* out) override {
    out->target.path = "/srv/app.cgi";
    out->target.cwd = "/srv";
    out->target.display_name = "app.cgi";
    out->runner = runner_;
    return Status::Ok();
  }
  void Recycle(const char*) override {}
  void Shutdown() override {}
  bool InUse() const override { return false; }
  void ForEachRunner(const RunnerVisitor&) const override {}

 private:
  ProgramRunner* runner_;
};

}  // namespace fcgi::test

#endif  // FCGI_RUN_TESTS_LAUNCHER_REQUEST_FAKE_PROGRAM_SOURCE_H_
