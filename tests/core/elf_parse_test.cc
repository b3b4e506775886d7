#include "core/elf_parse.h"

#include <catch2/catch.hpp>

#include <fstream>
#include <iterator>
#include <string>

namespace fcgi {
namespace {

// Builds a minimal ELF image: file header, then `types` as program headers
// (a PT_INTERP entry points at offset 0x1000, size 28).
std::string MakeElf(bool is_64bit, bool little_endian, std::initializer_list<uint32_t> types,
                    uint16_t elf_type = kElfTypeDyn) {
  const size_t header_size = is_64bit ? 64 : 52;
  const size_t entry_size = is_64bit ? 56 : 32;
  std::string image(header_size + entry_size * types.size(), '\0');
  auto put = [&](size_t offset, uint64_t value, size_t width) {
    for (size_t i = 0; i < width; ++i) {
      size_t shift = little_endian ? 8 * i : 8 * (width - 1 - i);
      image[offset + i] = static_cast<char>((value >> shift) & 0xff);
    }
  };
  image[0] = '\x7f';
  image[1] = 'E';
  image[2] = 'L';
  image[3] = 'F';
  image[4] = is_64bit ? 2 : 1;
  image[5] = little_endian ? 1 : 2;
  image[6] = 1;
  put(16, elf_type, 2);
  put(18, is_64bit ? 62 : 3, 2);  // EM_X86_64 / EM_386
  if (is_64bit) {
    put(32, header_size, 8);
    put(54, entry_size, 2);
    put(56, types.size(), 2);
  } else {
    put(28, header_size, 4);
    put(42, entry_size, 2);
    put(44, types.size(), 2);
  }
  size_t base = header_size;
  for (uint32_t type : types) {
    put(base, type, 4);
    if (type == kElfSegmentInterp) {
      put(base + (is_64bit ? 8 : 4), 0x1000, is_64bit ? 8 : 4);
      put(base + (is_64bit ? 32 : 16), 28, is_64bit ? 8 : 4);
    }
    base += entry_size;
  }
  return image;
}

constexpr uint32_t kLoad = 1;
constexpr uint32_t kDynamic = 2;
constexpr uint32_t kPhdr = 6;

TEST_CASE("elf_parse: 64-bit little-endian with PT_INTERP", "[elf_parse]") {
  ElfSummary summary;
  REQUIRE(ParseElfPrefix(MakeElf(true, true, {kPhdr, kElfSegmentInterp, kLoad, kDynamic}), &summary).ok());
  CHECK(summary.header.is_64bit);
  CHECK(summary.header.little_endian);
  CHECK(summary.header.type == kElfTypeDyn);
  CHECK(summary.header.machine == 62);
  CHECK(summary.header.program_header_count == 4);
  CHECK(summary.has_interp);
  CHECK(summary.interp_offset == 0x1000);
  CHECK(summary.interp_size == 28);
}

TEST_CASE("elf_parse: static binary has no PT_INTERP", "[elf_parse]") {
  ElfSummary summary;
  REQUIRE(ParseElfPrefix(MakeElf(true, true, {kLoad, kLoad}, kElfTypeExec), &summary).ok());
  CHECK_FALSE(summary.has_interp);
  CHECK(summary.header.type == kElfTypeExec);
}

TEST_CASE("elf_parse: 32-bit big-endian", "[elf_parse]") {
  ElfSummary summary;
  REQUIRE(ParseElfPrefix(MakeElf(false, false, {kLoad, kElfSegmentInterp}), &summary).ok());
  CHECK_FALSE(summary.header.is_64bit);
  CHECK_FALSE(summary.header.little_endian);
  CHECK(summary.header.machine == 3);
  CHECK(summary.has_interp);
  CHECK(summary.interp_offset == 0x1000);
  CHECK(summary.interp_size == 28);
}

TEST_CASE("elf_parse: rejects what is not a well-formed ELF", "[elf_parse]") {
  ElfSummary summary;
  CHECK(ParseElfPrefix("#!/bin/sh\n", &summary).code() == Status::Code::kInvalidArgument);
  CHECK_FALSE(
      LooksLikeElf("\x7f"
                   "EL"));
  std::string image = MakeElf(true, true, {kLoad});
  CHECK(ParseElfPrefix(image.substr(0, 40), &summary).code() == Status::Code::kInvalidArgument);
  std::string bad_class = image;
  bad_class[4] = 7;
  CHECK(ParseElfPrefix(bad_class, &summary).message() == "unknown ELF class 7");
  std::string bad_order = image;
  bad_order[5] = 0;
  CHECK(ParseElfPrefix(bad_order, &summary).code() == Status::Code::kInvalidArgument);
  std::string small_entries = image;
  small_entries[54] = 8;  // e_phentsize = 8 < 56
  CHECK(ParseElfPrefix(small_entries, &summary).code() == Status::Code::kInvalidArgument);
}

TEST_CASE("elf_parse: program header table beyond the prefix asks for more", "[elf_parse]") {
  std::string image = MakeElf(true, true, {kLoad, kElfSegmentInterp});
  ElfSummary summary;
  CHECK(ParseElfPrefix(image.substr(0, 64 + 56), &summary).code() == Status::Code::kLimitExceeded);
  ElfHeader header;
  REQUIRE(ParseElfHeader(image.substr(0, 64), &header).ok());
  CHECK(header.ProgramHeaderTableSize() == 112);
  CHECK(ParseElfProgramHeaders(header, image.substr(64, 100), &summary).code() ==
        Status::Code::kInvalidArgument);
  REQUIRE(ParseElfProgramHeaders(header, image.substr(64), &summary).ok());
  CHECK(summary.has_interp);
}

TEST_CASE("elf_parse: the real /bin/sh is dynamically linked", "[elf_parse]") {
  std::ifstream in("/bin/sh", std::ios::binary);
  REQUIRE(in);
  std::string bytes(4096, '\0');
  in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  bytes.resize(static_cast<size_t>(in.gcount()));
  ElfSummary summary;
  REQUIRE(ParseElfPrefix(bytes, &summary).ok());
  CHECK(summary.has_interp);
}

TEST_CASE("elf_parse: shebang lines follow the kernel's rules", "[elf_parse]") {
  std::optional<Shebang> shebang;
  REQUIRE(ParseShebang("\x7f"
                       "ELF....",
                       &shebang)
              .ok());
  CHECK_FALSE(shebang.has_value());

  REQUIRE(ParseShebang("#!/bin/sh\necho hi\n", &shebang).ok());
  REQUIRE(shebang.has_value());
  CHECK(shebang->interpreter == "/bin/sh");
  CHECK(shebang->argument.empty());

  REQUIRE(ParseShebang("#! \t/usr/bin/perl  -w -T \r\nprint 1;", &shebang).ok());
  CHECK(shebang->interpreter == "/usr/bin/perl");
  CHECK(shebang->argument == "-w -T");  // one argument, as Linux passes it

  REQUIRE(ParseShebang("#!/bin/sh", &shebang).ok());  // no newline in a short file
  CHECK(shebang->interpreter == "/bin/sh");

  CHECK(ParseShebang("#!   \nx", &shebang).code() == Status::Code::kInvalidArgument);
  CHECK(ParseShebang("#!" + std::string(300, 'a'), &shebang).code() == Status::Code::kInvalidArgument);
  // A long argument is cut at 256 bytes, the interpreter survives.
  REQUIRE(ParseShebang("#!/bin/sh " + std::string(300, 'x'), &shebang).ok());
  CHECK(shebang->interpreter == "/bin/sh");
  CHECK(shebang->argument == std::string(256 - 10, 'x'));
}

TEST_CASE("elf_parse: env command and search path", "[elf_parse]") {
  CHECK(EnvCommandName("python3") == "python3");
  CHECK(EnvCommandName("-S python3 -u") == "python3");
  CHECK(EnvCommandName("-S LANG=C -u HOME perl -w") == "perl");
  CHECK(EnvCommandName("-i") == "");
  CHECK(EnvCommandName("") == "");
  CHECK(SplitSearchPath("/usr/bin:/bin") == std::vector<std::string>{"/usr/bin", "/bin"});
  CHECK(SplitSearchPath(":/bin:") == std::vector<std::string>{".", "/bin", "."});
  CHECK(SplitSearchPath("") == std::vector<std::string>{"."});
  CHECK(BaseName("/usr/bin/env") == "env");
  CHECK(BaseName("env") == "env");
}

}  // namespace
}  // namespace fcgi
