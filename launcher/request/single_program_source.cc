#include "launcher/request/single_program_source.h"

#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <memory>
#include <utility>

#include "core/cgi_environment.h"
#include "core/script_path.h"
#include "launcher/log/log.h"

namespace fcgi {

namespace {

class SingleProgramSource : public ProgramSource {
 public:
  SingleProgramSource(ProgramTarget target, std::unique_ptr<ProgramRunner> runner)
      : target_(std::move(target)), runner_(std::move(runner)) {}

  Status Resolve(const NameValuePairs& params, ResolvedProgram* out) override {
    if (!warned_) NoteOtherProgram(params);
    out->target = target_;
    out->runner = runner_.get();
    out->keep_alive = runner_;
    return Status::Ok();
  }
  void Recycle(const char* why) override { runner_->Recycle(why); }
  void Shutdown() override { runner_->Shutdown(); }
  bool InUse() const override { return runner_.use_count() > 1; }
  void ForEachRunner(const RunnerVisitor& visit) const override { visit(target_.path, *runner_); }

 private:
  // A web server configured for a dispatcher (fcgiwrap's SCRIPT_FILENAME =
  // $document_root$fastcgi_script_name) in front of a single-program fcgi-run
  // would see every URL answered by the one program: say so, once, when
  // SCRIPT_FILENAME names another executable file.
  void NoteOtherProgram(const NameValuePairs& params) {
    const std::string* named = FindParam(params, "SCRIPT_FILENAME");
    if (named == nullptr || named->empty()) return;
    const std::string path = StripProxyFcgiPrefix(*named);
    if (path.empty() || path == target_.path || path == last_checked_) return;
    last_checked_ = path;  // a realpath(3) per distinct name until the line is logged
    char real[PATH_MAX];
    struct stat st;
    if (realpath(path.c_str(), real) == nullptr || target_.path == real || stat(real, &st) != 0 ||
        !S_ISREG(st.st_mode) || access(real, X_OK) != 0) {
      return;
    }
    warned_ = true;
    LogWarning("SCRIPT_FILENAME " + path +
               " names another program than the one this fcgi-run serves: " + target_.path +
               " runs for every request, whatever SCRIPT_FILENAME says (single-program mode). "
               "To run the program each request names, start fcgi-run with --root instead of a PROGRAM "
               "(dispatcher mode). Logged once");
  }

  ProgramTarget target_;
  std::shared_ptr<ProgramRunner> runner_;
  bool warned_ = false;
  std::string last_checked_;
};

}  // namespace

std::unique_ptr<ProgramSource> MakeSingleProgramSource(ProgramTarget target,
                                                       std::unique_ptr<ProgramRunner> runner) {
  return std::make_unique<SingleProgramSource>(std::move(target), std::move(runner));
}

}  // namespace fcgi
