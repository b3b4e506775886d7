// ELF program headers and "#!" lines, parsed from bytes: see elf_parse.h.
#include "core/elf_parse.h"

#include "core/strings.h"

namespace fcgi {
namespace {

constexpr size_t kEiClass = 4;
constexpr size_t kEiData = 5;
constexpr uint8_t kElfClass32 = 1;
constexpr uint8_t kElfClass64 = 2;
constexpr uint8_t kElfDataLsb = 1;
constexpr uint8_t kElfDataMsb = 2;
constexpr size_t kElf32HeaderSize = 52;
constexpr size_t kElf32PhdrSize = 32;
constexpr size_t kElf64PhdrSize = 56;

uint64_t ReadUint(std::string_view bytes, size_t offset, size_t width, bool little_endian) {
  uint64_t value = 0;
  for (size_t i = 0; i < width; ++i) {
    uint64_t byte = static_cast<uint8_t>(bytes[offset + i]);
    value |= little_endian ? byte << (8 * i) : byte << (8 * (width - 1 - i));
  }
  return value;
}

}  // namespace

bool LooksLikeElf(std::string_view bytes) {
  return bytes.size() >= 4 && bytes.substr(0, 4) == std::string_view(
                                                        "\x7f"
                                                        "ELF",
                                                        4);
}

Status ParseElfHeader(std::string_view bytes, ElfHeader* out) {
  if (!LooksLikeElf(bytes)) return Status::Invalid("not an ELF file");
  if (bytes.size() < kElfIdentSize) return Status::Invalid("truncated ELF header");
  uint8_t elf_class = static_cast<uint8_t>(bytes[kEiClass]);
  uint8_t data = static_cast<uint8_t>(bytes[kEiData]);
  if (elf_class != kElfClass32 && elf_class != kElfClass64) {
    return Status::Invalid("unknown ELF class " + std::to_string(elf_class));
  }
  if (data != kElfDataLsb && data != kElfDataMsb) {
    return Status::Invalid("unknown ELF byte order " + std::to_string(data));
  }
  ElfHeader h;
  h.is_64bit = elf_class == kElfClass64;
  h.little_endian = data == kElfDataLsb;
  if (bytes.size() < (h.is_64bit ? kElf64HeaderSize : kElf32HeaderSize)) {
    return Status::Invalid("truncated ELF header");
  }
  h.type = static_cast<uint16_t>(ReadUint(bytes, 16, 2, h.little_endian));
  h.machine = static_cast<uint16_t>(ReadUint(bytes, 18, 2, h.little_endian));
  if (h.is_64bit) {
    h.program_header_offset = ReadUint(bytes, 32, 8, h.little_endian);
    h.program_header_entry_size = static_cast<uint16_t>(ReadUint(bytes, 54, 2, h.little_endian));
    h.program_header_count = static_cast<uint16_t>(ReadUint(bytes, 56, 2, h.little_endian));
  } else {
    h.program_header_offset = ReadUint(bytes, 28, 4, h.little_endian);
    h.program_header_entry_size = static_cast<uint16_t>(ReadUint(bytes, 42, 2, h.little_endian));
    h.program_header_count = static_cast<uint16_t>(ReadUint(bytes, 44, 2, h.little_endian));
  }
  size_t min_entry = h.is_64bit ? kElf64PhdrSize : kElf32PhdrSize;
  if (h.program_header_count > 0 && h.program_header_entry_size < min_entry) {
    return Status::Invalid("ELF program header entries of " + std::to_string(h.program_header_entry_size) +
                           " bytes");
  }
  *out = h;
  return Status::Ok();
}

Status ParseElfProgramHeaders(const ElfHeader& header, std::string_view table, ElfSummary* out) {
  if (table.size() < header.ProgramHeaderTableSize()) {
    return Status::Invalid("truncated ELF program header table");
  }
  ElfSummary summary;
  summary.header = header;
  const bool le = header.little_endian;
  for (uint16_t i = 0; i < header.program_header_count; ++i) {
    size_t base = static_cast<size_t>(i) * header.program_header_entry_size;
    uint32_t type = static_cast<uint32_t>(ReadUint(table, base, 4, le));
    if (type != kElfSegmentInterp) continue;
    summary.has_interp = true;
    if (header.is_64bit) {
      summary.interp_offset = ReadUint(table, base + 8, 8, le);
      summary.interp_size = ReadUint(table, base + 32, 8, le);
    } else {
      summary.interp_offset = ReadUint(table, base + 4, 4, le);
      summary.interp_size = ReadUint(table, base + 16, 4, le);
    }
    break;
  }
  *out = summary;
  return Status::Ok();
}

Status ParseElfPrefix(std::string_view file_prefix, ElfSummary* out) {
  ElfHeader header;
  Status status = ParseElfHeader(file_prefix, &header);
  if (!status.ok()) return status;
  uint64_t end = header.program_header_offset + header.ProgramHeaderTableSize();
  if (header.program_header_offset > file_prefix.size() || end > file_prefix.size()) {
    return Status::Limit("ELF program header table ends at byte " + std::to_string(end));
  }
  return ParseElfProgramHeaders(
      header, file_prefix.substr(header.program_header_offset, header.ProgramHeaderTableSize()), out);
}

Status ParseShebang(std::string_view head, std::optional<Shebang>* out) {
  out->reset();
  if (head.substr(0, 2) != "#!") return Status::Ok();
  std::string_view line = head.substr(0, kShebangMaxBytes);
  size_t newline = line.find('\n');
  bool truncated = newline == std::string_view::npos && head.size() > kShebangMaxBytes;
  if (newline != std::string_view::npos) line = line.substr(0, newline);
  size_t pos = 2;
  while (pos < line.size() && IsBlank(line[pos])) ++pos;
  size_t start = pos;
  while (pos < line.size() && !IsBlank(line[pos]) && line[pos] != '\0') ++pos;
  if (pos == start) return Status::Invalid("\"#!\" line without an interpreter");
  if (truncated && pos == line.size()) {
    return Status::Invalid("\"#!\" interpreter path longer than " + std::to_string(kShebangMaxBytes) +
                           " bytes");
  }
  Shebang shebang;
  shebang.interpreter = std::string(line.substr(start, pos - start));
  while (pos < line.size() && IsBlank(line[pos])) ++pos;
  size_t end = line.size();
  while (end > pos && (IsBlank(line[end - 1]) || line[end - 1] == '\r')) --end;
  shebang.argument = std::string(line.substr(pos, end - pos));
  *out = std::move(shebang);
  return Status::Ok();
}

std::string EnvCommandName(std::string_view argument) {
  size_t pos = 0;
  bool skip_next = false;  // the operand of -u NAME / -C DIR
  while (pos < argument.size()) {
    while (pos < argument.size() && IsBlank(argument[pos])) ++pos;
    size_t start = pos;
    while (pos < argument.size() && !IsBlank(argument[pos])) ++pos;
    std::string_view word = argument.substr(start, pos - start);
    if (word.empty()) break;
    if (skip_next) {
      skip_next = false;
      continue;
    }
    if (word == "-u" || word == "-C") skip_next = true;
    if (word[0] == '-' || word.find('=') != std::string_view::npos) continue;
    return std::string(word);
  }
  return "";
}

std::vector<std::string> SplitSearchPath(std::string_view path) {
  std::vector<std::string> dirs;
  size_t start = 0;
  for (;;) {
    size_t colon = path.find(':', start);
    std::string_view dir = path.substr(start, colon == std::string_view::npos ? path.npos : colon - start);
    dirs.emplace_back(dir.empty() ? std::string_view(".") : dir);
    if (colon == std::string_view::npos) return dirs;
    start = colon + 1;
  }
}

std::string_view BaseName(std::string_view path) {
  size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

}  // namespace fcgi
