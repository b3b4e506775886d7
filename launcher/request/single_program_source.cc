#include "launcher/request/single_program_source.h"

#include <memory>
#include <utility>

namespace fcgi {

namespace {

class SingleProgramSource : public ProgramSource {
 public:
  SingleProgramSource(ProgramTarget target, std::unique_ptr<ProgramRunner> runner)
      : target_(std::move(target)), runner_(std::move(runner)) {}

  Status Resolve(const NameValuePairs&, ResolvedProgram* out) override {
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
  ProgramTarget target_;
  std::shared_ptr<ProgramRunner> runner_;
};

}  // namespace

std::unique_ptr<ProgramSource> MakeSingleProgramSource(ProgramTarget target,
                                                       std::unique_ptr<ProgramRunner> runner) {
  return std::make_unique<SingleProgramSource>(std::move(target), std::move(runner));
}

}  // namespace fcgi
