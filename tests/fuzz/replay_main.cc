// Replays fuzzer inputs without libFuzzer: links with one *_fuzzer.cc and
// calls its LLVMFuzzerTestOneInput once per file of the directories (or
// files) given on the command line. The fuzzers abort() on an invariant
// violation, so a regression input that crashes again fails the run; under
// the ASan+UBSan build (build-asan) memory errors do too.
//
//   connection_state_fuzzer_replay tests/fuzz/regressions/connection_state_fuzzer tests/fuzz/corpus/...
//
// Registered in ctest as "fuzz-replay: <target> ..." (tests/CMakeLists.txt),
// so `make test` replays every regression input and the seed corpus in the
// gcc build and again in the ASan+UBSan build, without clang.
#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

// The regular files named by `path` (itself, or its entries, sorted; dot
// files such as .gitkeep and README files are skipped).
std::vector<std::string> InputsOf(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return {};
  if (!S_ISDIR(st.st_mode)) return {path};
  std::vector<std::string> out;
  if (DIR* d = opendir(path.c_str())) {
    while (dirent* e = readdir(d)) {
      const std::string name = e->d_name;
      if (name.empty() || name[0] == '.' || name.rfind("README", 0) == 0) continue;
      const std::string full = path + "/" + name;
      if (stat(full.c_str(), &st) == 0 && S_ISREG(st.st_mode)) out.push_back(full);
    }
    closedir(d);
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  size_t replayed = 0;
  for (int i = 1; i < argc; ++i) {
    struct stat st;
    if (stat(argv[i], &st) != 0) {
      std::fprintf(stderr, "replay: %s: no such file or directory\n", argv[i]);
      return 2;
    }
    for (const std::string& file : InputsOf(argv[i])) {
      std::ifstream in(file, std::ios::binary);
      std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      std::fprintf(stderr, "replay: %s (%zu bytes)\n", file.c_str(), bytes.size());
      LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
      ++replayed;
    }
  }
  std::printf("replay: %zu inputs, no crash\n", replayed);
  return 0;
}
