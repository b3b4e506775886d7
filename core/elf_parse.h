// Pure parsing for the fork-mode pre-flight (launcher/shim/elf_inspector.h): the ELF
// file header and program header table, and the "#!" line of scripts.
//
// No I/O: callers hand in bytes read from the file. Both ELF classes (32/64)
// and both byte orders are understood; nothing beyond the program headers is
// looked at. The shebang rules are Linux's (fs/binfmt_script.c): after "#!",
// blanks are skipped, the interpreter is the next word, and the rest of the
// line, trimmed, is a single optional argument.
#ifndef FCGI_RUN_CORE_ELF_PARSE_H_
#define FCGI_RUN_CORE_ELF_PARSE_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace fcgi {

inline constexpr size_t kElfIdentSize = 16;
inline constexpr size_t kElf64HeaderSize = 64;    // also enough for ELF32 (52)
inline constexpr uint16_t kElfTypeExec = 2;       // ET_EXEC
inline constexpr uint16_t kElfTypeDyn = 3;        // ET_DYN (PIE or shared object)
inline constexpr uint32_t kElfSegmentInterp = 3;  // PT_INTERP

// True if bytes start with "\x7f" "ELF".
bool LooksLikeElf(std::string_view bytes);

struct ElfHeader {
  bool is_64bit = false;
  bool little_endian = true;
  uint16_t type = 0;     // kElfTypeExec, kElfTypeDyn, ...
  uint16_t machine = 0;  // EM_*
  uint64_t program_header_offset = 0;
  uint16_t program_header_entry_size = 0;
  uint16_t program_header_count = 0;

  // Bytes of the program header table (count * entry size).
  uint64_t ProgramHeaderTableSize() const {
    return static_cast<uint64_t>(program_header_entry_size) * program_header_count;
  }
};

// Parses the file header from the file's first bytes (kElf64HeaderSize are
// enough). kInvalidArgument: not ELF, truncated, unknown class or byte order,
// or a program header entry size too small for its class.
Status ParseElfHeader(std::string_view bytes, ElfHeader* out);

struct ElfSummary {
  ElfHeader header;
  bool has_interp = false;     // a PT_INTERP segment: dynamically linked
  uint64_t interp_offset = 0;  // where the interpreter path lies in the file
  uint64_t interp_size = 0;
};

// Scans the program header table (`table` = ProgramHeaderTableSize() bytes
// read at program_header_offset). kInvalidArgument if the table is short.
Status ParseElfProgramHeaders(const ElfHeader& header, std::string_view table, ElfSummary* out);

// Both steps on a prefix of the file that covers the program header table.
// kLimitExceeded if the table lies beyond `file_prefix` (read more and retry).
Status ParseElfPrefix(std::string_view file_prefix, ElfSummary* out);

struct Shebang {
  std::string interpreter;  // as written: absolute or relative path
  std::string argument;     // the optional single argument, trimmed ("" if none)
};

// Linux reads at most this many bytes of a "#!" line.
inline constexpr size_t kShebangMaxBytes = 256;

// Parses the start of a file. OK + nullopt: not a script (no "#!"). OK + value:
// a script. kInvalidArgument: "#!" without interpreter, or a line longer than
// kShebangMaxBytes whose interpreter would be cut (the kernel refuses those).
Status ParseShebang(std::string_view head, std::optional<Shebang>* out);

// For "#!/usr/bin/env ARGS": the command env will run, i.e. the first word
// of ARGS that is neither an option ("-i", "-S", ...; the operand of "-u"/"-C"
// skipped too) nor NAME=VALUE.
// Returns "" if there is none. ("-S" strings are split at blanks.)
std::string EnvCommandName(std::string_view argument);

// Splits a PATH value at ':'; an empty entry means the current directory ".".
std::vector<std::string> SplitSearchPath(std::string_view path);

// Last component of a path ("/usr/bin/env" -> "env").
std::string_view BaseName(std::string_view path);

}  // namespace fcgi

#endif  // FCGI_RUN_CORE_ELF_PARSE_H_
