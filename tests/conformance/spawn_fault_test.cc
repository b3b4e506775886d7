// Fault suite, spawn failures: the program cannot be started for a request
// (it vanished, lost its exec bit, is not an executable format, names a
// missing interpreter; fork(2) fails under RLIMIT_NPROC; every worker slot is
// taken and the queue is full). Each must give that request a clear 5xx from
// fcgi-run itself and a log line with the cause, and leave the launcher
// answering with its descriptors and children back to the baseline
// (conf::CheckHealthy). Exec mode (the conformance binary's default
// registration): fork and persistent modes reach execve only through their
// exec fallback, covered by tests/e2e/failure_test.cc.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "tests/conformance/conformance_util.h"

namespace fcgi::test {
namespace {

using conf::App;
using conf::Baseline;
using conf::CheckHealthy;
using conf::Params;
using namespace std::chrono_literals;  // NOLINT

// A private copy of hello.cgi in `dir` (mode 0755), so that the test may
// break it and put it back.
std::string CopyOfHello(const TempDir& dir) {
  std::string path = dir.WriteFile("hello.cgi", ReadFile(Example("hello.cgi")));
  REQUIRE(chmod(path.c_str(), 0755) == 0);
  return path;
}

// Puts a working hello.cgi back at `path` (a new inode, mode 0755).
void Restore(const std::string& path) {
  unlink(path.c_str());
  const std::string bytes = ReadFile(Example("hello.cgi"));
  std::string tmp = path + ".new";
  FILE* f = fopen(tmp.c_str(), "wb");
  REQUIRE(f != nullptr);
  REQUIRE(fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size());
  REQUIRE(fclose(f) == 0);
  REQUIRE(chmod(tmp.c_str(), 0755) == 0);
  REQUIRE(rename(tmp.c_str(), path.c_str()) == 0);
}

// The common shape: start on a working copy, `breakit`, one request must get
// a 5xx from fcgi-run with `log_cause` in the log, the launcher must answer
// again once the program is restored.
void ExpectSpawnFailure(const std::function<void(const std::string&)>& breakit,
                        const std::string& log_cause) {
  TempDir dir("fcgi-run-spawn");
  const std::string program = CopyOfHello(dir);
  FcgiRun app(App(program));
  const int baseline = Baseline(app, program);
  breakit(program);
  for (int i = 0; i < 3; ++i) {  // repeated failures stay clean too
    FcgiResponse r = RequestOnce(app.address(), Params(program, "broken"));
    INFO(r.Describe() << "\nlauncher:\n" << app.Log());
    REQUIRE(r.ok());
    CgiResponse cgi = SplitCgiResponse(r.stdout_data);
    CHECK(cgi.status >= 500);
    CHECK(cgi.status <= 599);
    CHECK(cgi.body.rfind("fcgi-run: ", 0) == 0);
  }
  INFO("launcher:\n" << app.Log());
  CHECK(app.LogContains(log_cause));
  Restore(program);
  const std::string health = CheckHealthy(app, program, baseline);
  INFO("after the program was restored; launcher:\n" << app.Log());
  CHECK(health == "");
}

TEST_CASE("fault: spawn: the program vanishes after start (ENOENT)", "[fault][spawn]") {
  ExpectSpawnFailure([](const std::string& p) { REQUIRE(unlink(p.c_str()) == 0); },
                     ": No such file or directory");
}

TEST_CASE("fault: spawn: the program loses its exec bit after start (EACCES)", "[fault][spawn]") {
  ExpectSpawnFailure([](const std::string& p) { REQUIRE(chmod(p.c_str(), 0644) == 0); },
                     ": Permission denied");
}

// Replaces the program file by a new executable file holding `content`.
void ReplaceWithExecutable(const std::string& path, const char* content) {
  REQUIRE(unlink(path.c_str()) == 0);
  FILE* f = fopen(path.c_str(), "wb");
  REQUIRE(f != nullptr);
  fputs(content, f);
  REQUIRE(fclose(f) == 0);
  REQUIRE(chmod(path.c_str(), 0755) == 0);
}

TEST_CASE("fault: spawn: the program becomes an unknown executable format (ENOEXEC)", "[fault][spawn]") {
  ExpectSpawnFailure(
      [](const std::string& p) { ReplaceWithExecutable(p, "this is neither ELF nor a #! script\n"); },
      ": Exec format error");
}

TEST_CASE("fault: spawn: the program's #! interpreter does not exist (ENOENT)", "[fault][spawn]") {
  ExpectSpawnFailure(
      [](const std::string& p) {
        ReplaceWithExecutable(p, "#!/nonexistent/fcgi-run-test-interpreter\necho never\n");
      },
      ": No such file or directory");
}

// RLIMIT_NPROC binds only a non-root user, and raising another user's limit
// needs CAP_SYS_RESOURCE, which a container may lack. So the launcher runs as
// a system user no other test uses (uucp) with a limit it inherits from this
// process, and the test moves that user's process count across the limit:
// sleeping "blocker" processes switched to uucp make fork(2) fail with EAGAIN
// in the launcher; killing them lets it fork again.
constexpr uid_t kDedicatedUid = 10;  // uucp (Debian)
constexpr rlim_t kNprocLimit = 32;

class UidBlockers {
 public:
  // `count` processes running as `uid`, each sleeping until killed.
  UidBlockers(uid_t uid, int count) {
    for (int i = 0; i < count; ++i) {
      pid_t pid = fork();
      if (pid == 0) {
        // Raw syscalls: this child of a test process only switches user, then waits.
        if (syscall(SYS_setresgid, uid, uid, uid) != 0 || syscall(SYS_setresuid, uid, uid, uid) != 0)
          _exit(1);
        for (;;) pause();
      }
      if (pid > 0) pids_.push_back(pid);
    }
  }
  ~UidBlockers() { Stop(); }
  UidBlockers(const UidBlockers&) = delete;
  UidBlockers& operator=(const UidBlockers&) = delete;
  void Stop() {
    for (pid_t pid : pids_) kill(pid, SIGKILL);
    for (pid_t pid : pids_) waitpid(pid, nullptr, 0);
    pids_.clear();
  }
  size_t size() const { return pids_.size(); }

 private:
  std::vector<pid_t> pids_;
};

// Processes (tasks) running as `uid`.
int TasksOfUid(uid_t uid) {
  int n = 0;
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return -1;
  while (dirent* e = readdir(proc)) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    struct stat st;
    if (stat(("/proc/" + std::string(e->d_name)).c_str(), &st) != 0 || st.st_uid != uid) continue;
    if (DIR* tasks = opendir(("/proc/" + std::string(e->d_name) + "/task").c_str())) {
      while (dirent* t = readdir(tasks)) {
        if (t->d_name[0] != '.') ++n;
      }
      closedir(tasks);
    }
  }
  closedir(proc);
  return n;
}

TEST_CASE("fault: spawn: fork fails under a low RLIMIT_NPROC (EAGAIN)", "[fault][spawn]") {
  if (geteuid() != 0) {
    WARN("skipped: needs root to run the launcher as a dedicated user (uucp)");
    return;
  }
  REQUIRE(TasksOfUid(kDedicatedUid) == 0);  // dedicated: nothing else runs as uucp
  TempDir dir("fcgi-run-spawn");
  REQUIRE(chmod(dir.path().c_str(), 0755) == 0);
  const std::string program = CopyOfHello(dir);
  // The launcher inherits a soft RLIMIT_NPROC of kNprocLimit (root, this
  // process is not bound by it; the hard limit stays, so it can be restored).
  rlimit saved{};
  REQUIRE(getrlimit(RLIMIT_NPROC, &saved) == 0);
  rlimit low{kNprocLimit, saved.rlim_max};
  REQUIRE(setrlimit(RLIMIT_NPROC, &low) == 0);
  std::unique_ptr<FcgiRun> started;
  try {
    started = std::make_unique<FcgiRun>(App(program, {"--user", "uucp"}));
  } catch (...) {
    setrlimit(RLIMIT_NPROC, &saved);
    throw;
  }
  REQUIRE(setrlimit(RLIMIT_NPROC, &saved) == 0);
  FcgiRun& app = *started;
  const int baseline = Baseline(app, program);
  const int launcher_tasks = TasksOfUid(kDedicatedUid);
  REQUIRE(launcher_tasks >= 1);
  {
    UidBlockers blockers(kDedicatedUid, static_cast<int>(kNprocLimit) - launcher_tasks);
    REQUIRE(pc::WaitFor([&] { return TasksOfUid(kDedicatedUid) >= static_cast<int>(kNprocLimit); }, 5000ms));
    for (int i = 0; i < 3; ++i) {
      FcgiResponse r = RequestOnce(app.address(), Params(program, "nproc"));
      INFO(r.Describe() << "\nlauncher:\n" << app.Log());
      REQUIRE(r.ok());
      CgiResponse cgi = SplitCgiResponse(r.stdout_data);
      CHECK(cgi.status >= 500);
      CHECK(cgi.status <= 599);
      CHECK(cgi.body.rfind("fcgi-run: ", 0) == 0);
    }
    INFO("launcher:\n" << app.Log());
    CHECK(app.LogContains("Resource temporarily unavailable"));
  }  // the blockers are gone: fork works again
  const std::string health = CheckHealthy(app, program, baseline);
  INFO("launcher:\n" << app.Log());
  CHECK(health == "");
}

TEST_CASE("fault: spawn: every worker busy and the queue full gives 503", "[fault][spawn]") {
  pc::Record record;
  FcgiRunOptions options = pc::ControlApp(record);
  options.workers = 1;
  options.queue = 0;
  FcgiRun app(options);
  const std::string control = pc::TestProgram("control.cgi");
  REQUIRE(RequestOnce(app.address(), pc::ControlParams("warm-up")).ok());
  const int baseline = conf::FdCount(app.process().pid());
  FcgiTestClient busy;
  REQUIRE(busy.Connect(app.address()).ok());
  REQUIRE(busy.Send(RequestBytes(pc::Spec(pc::ControlParams("hang")))).ok());
  pid_t hanging = pc::WaitForPid(record.path(), "hang");
  REQUIRE(hanging > 0);
  for (int i = 0; i < 3; ++i) {
    FcgiResponse r = RequestOnce(app.address(), pc::ControlParams("refused"));
    INFO(r.Describe() << "\nlauncher:\n" << app.Log());
    REQUIRE(r.ended);
    CHECK(SplitCgiResponse(r.stdout_data).status == 503);
  }
  busy.Close();  // the hanging program is stopped, its slot freed
  CHECK(pc::WaitFor([&] { return pc::PidAndGroupGone(hanging); }, 10000ms));
  FcgiResponse after = RequestOnce(app.address(), pc::ControlParams("after"));
  INFO(after.Describe() << "\nlauncher:\n" << app.Log());
  CHECK(after.ok());
  int fds = -1;
  // At most the baseline: it may include the warm-up connection, still closing when counted.
  bool fds_back = pc::WaitFor([&] { return (fds = conf::FdCount(app.process().pid())) <= baseline; }, 5000ms);
  INFO("baseline " << baseline << " fds, now " << fds << ":\n" << conf::DescribeFds(app.process().pid()));
  CHECK(fds_back);
  CHECK(pc::WaitFor([&] { return pc::ChildrenOf(app.process().pid()).empty(); }, 5000ms));
}

}  // namespace
}  // namespace fcgi::test
