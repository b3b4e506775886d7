#include "launcher/request/dispatcher_source.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <list>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/persistent_patterns.h"
#include "launcher/log/log.h"
#include "launcher/request/program_target.h"

namespace fcgi {

namespace {

// errno -> the codes FileSystem promises: missing-like errors are kNotFound,
// permission-like ones kPermissionDenied.
Status FsError(const char* syscall, const std::string& path, int err) {
  Status s = Status::FromErrno(syscall, path.size() > 200 ? path.substr(0, 200) + "..." : path, err);
  if (err == ENOTDIR || err == ENAMETOOLONG) return Status::NotFound(s.message());
  if (err == ELOOP) return Status::Denied(s.message());
  return s;
}

class RealFileSystem : public FileSystem {
 public:
  Status RealPath(const std::string& path, std::string* out) const override {
    char buf[PATH_MAX];
    if (realpath(path.c_str(), buf) == nullptr) return FsError("realpath(3)", path, errno);
    *out = buf;
    return Status::Ok();
  }
  Status Stat(const std::string& path, FileInfo* out) const override {
    struct stat st;
    if (stat(path.c_str(), &st) != 0) return FsError("stat(2)", path, errno);
    *out = FileInfo{};
    out->regular = S_ISREG(st.st_mode);
    out->directory = S_ISDIR(st.st_mode);
    out->executable = access(path.c_str(), X_OK) == 0;
    return Status::Ok();
  }
};

class DispatcherSource : public ProgramSource {
 public:
  DispatcherSource(const Config& config, ScriptPolicy policy, std::unique_ptr<FileSystem> fs,
                   RunnerFactory make_runner)
      : config_(config),
        policy_(std::move(policy)),
        persistent_(config.persistent),
        compile_per_request_(config.compile_per_request),
        fs_(std::move(fs)),
        make_runner_(std::move(make_runner)) {
    // --persistent, --compile-per-request (parsed by ParseConfig): a pattern naming a symlink
    // selects its target.
    persistent_.ResolveLiterals(*fs_);
    compile_per_request_.ResolveLiterals(*fs_);
  }

  ~DispatcherSource() override {
    // Requests are gone (the server outlives them); runners go in LRU order.
    retired_.clear();
    lru_.clear();
  }

  Status Resolve(const NameValuePairs& params, ResolvedProgram* out) override {
    SweepRetired();
    ScriptResolution r;
    Status s = ResolveScript(params, policy_, *fs_, &r);
    if (!s.ok()) return s;
    if (shut_down_ && index_.count(r.program) == 0) {
      return Status::Unavailable("stopping: no new worker class for " + r.program);
    }
    Class& c = Lookup(r.program, r.root);
    out->target = c.target;
    out->runner = c.runner.get();
    out->keep_alive = c.runner;
    out->param_overrides = std::move(r.overrides);
    return Status::Ok();
  }

  void Recycle(const char* why) override {
    for (Class& c : lru_) c.runner->Recycle(why);
  }

  void Shutdown() override {
    shut_down_ = true;
    for (Class& c : lru_) c.runner->Shutdown();
    for (auto& r : retired_) r->Shutdown();
  }

  bool InUse() const override {
    for (const Class& c : lru_) {
      if (c.runner.use_count() > 1) return true;
    }
    for (const auto& r : retired_) {
      if (r.use_count() > 1) return true;
    }
    return false;
  }

  void ForEachRunner(const RunnerVisitor& visit) const override {
    for (const Class& c : lru_) visit(c.target.path, *c.runner);
  }

 private:
  struct Class {
    ProgramTarget target;
    std::shared_ptr<ProgramRunner> runner;
  };

  // `root`: the --root the program was found under (nullptr: no roots), for
  // --persistent patterns relative to it.
  Class& Lookup(const std::string& program, const ScriptRoot* root) {
    auto it = index_.find(program);
    if (it != index_.end()) {
      lru_.splice(lru_.begin(), lru_, it->second);  // most recently used first
      return lru_.front();
    }
    Class c;
    c.target = MakeProgramTarget(config_, program, {});
    const bool dir_root = root != nullptr && !root->file;
    const std::string pattern =
        persistent_.Match(program, dir_root ? root->path : "", dir_root ? root->real : "");
    if (!pattern.empty()) c.target.mode = RunMode::kPersistent;
    const std::string compile =
        compile_per_request_.Match(program, dir_root ? root->path : "", dir_root ? root->real : "");
    c.target.compile_per_request = !compile.empty();
    c.runner = std::shared_ptr<ProgramRunner>(make_runner_(c.target));
    lru_.push_front(std::move(c));
    index_[program] = lru_.begin();
    LogDebug(
        "dispatcher: new worker class for " + program + " (" + std::to_string(lru_.size()) + " of " +
        std::to_string(config_.max_classes) + ")" +
        (pattern.empty() ? "" : ", persistent mode (--persistent '" + pattern + "')") +
        (compile.empty() ? "" : ", compiled in every request (--compile-per-request '" + compile + "')"));
    while (lru_.size() > config_.max_classes) {
      Class& old = lru_.back();
      LogDebug("dispatcher: retiring the least recently used worker class " + old.target.path +
               " (--max-classes " + std::to_string(config_.max_classes) + ")");
      retired_.push_back(std::move(old.runner));
      index_.erase(old.target.path);
      lru_.pop_back();
    }
    return lru_.front();
  }

  // Destroys retired runners no request holds any more.
  void SweepRetired() {
    std::erase_if(retired_, [](const std::shared_ptr<ProgramRunner>& r) {
      if (r.use_count() > 1) return false;
      r->Shutdown();
      return true;
    });
  }

  const Config& config_;
  const ScriptPolicy policy_;
  PersistentPatterns persistent_;           // --persistent
  PersistentPatterns compile_per_request_;  // --compile-per-request
  const std::unique_ptr<FileSystem> fs_;
  RunnerFactory make_runner_;
  std::list<Class> lru_;
  std::unordered_map<std::string, std::list<Class>::iterator> index_;
  std::vector<std::shared_ptr<ProgramRunner>> retired_;
  bool shut_down_ = false;
};

}  // namespace

std::unique_ptr<FileSystem> MakeRealFileSystem() { return std::make_unique<RealFileSystem>(); }

Status MakeScriptPolicy(const Config& config, const FileSystem& fs, ScriptPolicy* out) {
  ScriptPolicy p;
  for (const std::string& root : config.root) {
    ScriptRoot r;
    Status s = root.empty() ? Status::Invalid("empty path") : fs.RealPath(root, &r.real);
    if (!s.ok()) return Status::Invalid("--root " + root + ": " + s.message());
    FileSystem::FileInfo info;
    s = fs.Stat(r.real, &info);
    if (!s.ok()) return Status::Invalid("--root " + root + ": " + s.message());
    if (info.regular && !info.executable) {
      return Status::Invalid("--root " + root + ": a file root must be an executable program (" + r.real +
                             " is not executable)");
    }
    if (!info.directory && !info.regular) {
      return Status::Invalid("--root " + root + ": neither a directory nor a program file");
    }
    r.file = info.regular;
    r.path = root[0] == '/' ? NormalizePath(root) : r.real;
    p.roots.push_back(std::move(r));
  }
  p.extensions = config.allow_ext;
  for (const std::string& program : config.allowed_programs) {
    std::string real;
    Status s = fs.RealPath(program, &real);
    if (!s.ok()) return Status::Invalid("--program " + program + ": " + s.message());
    FileSystem::FileInfo info;
    s = fs.Stat(real, &info);
    if (!s.ok()) return Status::Invalid("--program " + program + ": " + s.message());
    if (!info.regular || !info.executable) {
      return Status::Invalid("--program " + program + ": not an executable regular file");
    }
    // --program narrows what the roots allow: one outside every root could never run.
    if (!p.roots.empty() && std::none_of(p.roots.begin(), p.roots.end(), [&real](const ScriptRoot& r) {
          return r.file ? real == r.real : IsUnder(real, r.real);
        })) {
      return Status::Invalid(
          "--program " + program + ": " + (real == program ? "" : "(" + real + ") ") + "lies outside " +
          p.DescribeRoots() +
          ", so it could never run (--program only narrows what --root allows); to serve it "
          "as well, add --root " +
          real);
    }
    p.programs.push_back(real);
  }
  *out = std::move(p);
  return Status::Ok();
}

std::unique_ptr<ProgramSource> MakeDispatcherSource(const Config& config, ScriptPolicy policy,
                                                    std::unique_ptr<FileSystem> fs,
                                                    RunnerFactory make_runner) {
  return std::make_unique<DispatcherSource>(config, std::move(policy), std::move(fs), std::move(make_runner));
}

}  // namespace fcgi
