#include "launcher/config/config_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <set>

#include "core/strings.h"

namespace fcgi {

namespace po = boost::program_options;

namespace {

// Blanks around names, values and comments (a CRLF file's CR too).
constexpr std::string_view kFileBlanks = " \t\r\f\v";

bool IsFileBlank(char c) { return kFileBlanks.find(c) != std::string_view::npos; }

// Drops a trailing comment: '#' at the start of the value or after a blank.
std::string_view StripComment(std::string_view value) {
  for (size_t i = 0; i < value.size(); ++i) {
    if (value[i] == '#' && (i == 0 || IsFileBlank(value[i - 1]))) return value.substr(0, i);
  }
  return value;
}

Status LineError(const std::string& source, int line, const std::string& what) {
  return Status::Invalid(source + ":" + std::to_string(line) + ": " + what);
}

bool CommandLineOnly(const std::string& name) {
  return name == "config" || name == "check-config" || name == "help" || name == "version";
}

}  // namespace

bool ParseFlagWord(std::string_view word, bool* value) {
  const std::string w = Lower(word);
  if (w == "true" || w == "yes" || w == "on" || w == "1") {
    *value = true;
    return true;
  }
  if (w == "false" || w == "no" || w == "off" || w == "0") {
    *value = false;
    return true;
  }
  return false;
}

bool IsFlag(const po::option_description& d) {
  return dynamic_cast<const po::typed_value<bool>*>(d.semantic().get()) != nullptr;
}

Status ParseConfigText(std::string_view text, const std::string& source, std::vector<ConfigEntry>* out) {
  int line_no = 0;
  while (!text.empty()) {
    ++line_no;
    size_t nl = text.find('\n');
    std::string_view raw = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    std::string_view line = Trim(raw, kFileBlanks);
    if (line.empty() || line.front() == '#') continue;
    if (line.front() == '[') {
      return LineError(source, line_no,
                       "sections (" + std::string(line) + ") are not supported: write name = value");
    }
    size_t eq = line.find('=');
    if (eq == std::string_view::npos) {
      return LineError(source, line_no, "expected 'name = value', got '" + std::string(line) + "'");
    }
    std::string_view name = Trim(line.substr(0, eq), kFileBlanks);
    if (name.empty()) return LineError(source, line_no, "missing option name before '='");
    if (name.substr(0, 1) == "-") {
      return LineError(source, line_no,
                       "write option names without dashes ('" +
                           std::string(name.substr(name.find_first_not_of('-'))) + " = ...')");
    }
    for (char c : name) {
      if (IsFileBlank(c))
        return LineError(source, line_no, "option name '" + std::string(name) + "' contains a blank");
    }
    ConfigEntry e;
    e.name = std::string(name);
    e.value = std::string(Trim(StripComment(line.substr(eq + 1)), kFileBlanks));
    e.line = line_no;
    out->push_back(std::move(e));
  }
  return Status::Ok();
}

Status ReadConfigFile(const std::string& path, std::vector<ConfigEntry>* out) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::FromErrno("open(2) config file", path, errno);
  std::string text;
  char buf[8192];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      return Status::FromErrno("read(2) config file", path, err);
    }
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
    if (text.size() > (1u << 20)) {
      ::close(fd);
      return Status::Invalid(path + ": config file larger than 1 MiB");
    }
  }
  ::close(fd);
  return ParseConfigText(text, path, out);
}

Status MergeConfigFile(const std::string& path, const std::vector<ConfigEntry>& entries,
                       const po::options_description& desc, const po::parsed_options& command_line,
                       po::variables_map* vm, ConfigCommand* command,
                       std::map<std::string, std::string>* origins) {
  std::set<std::string> on_command_line;
  for (const po::option& o : command_line.options) on_command_line.insert(o.string_key);
  std::map<std::string, int> scalar_line;  // single-valued option -> line that set it
  int command_line_no = 0, first_arg_line = 0;
  for (const ConfigEntry& e : entries) {
    if (e.name == kConfigCommandKey) {
      if (command_line_no != 0) {
        return LineError(path, e.line, "command already set on line " + std::to_string(command_line_no));
      }
      if (e.value.empty()) return LineError(path, e.line, "command needs a value (the PROGRAM to run)");
      command_line_no = e.line;
      command->program = e.value;
      continue;
    }
    if (e.name == kConfigArgKey) {
      if (first_arg_line == 0) first_arg_line = e.line;
      command->args.push_back(e.value);
      continue;
    }
    const po::option_description* d = desc.find_nothrow(e.name, false);
    if (d == nullptr) {
      return LineError(path, e.line,
                       "unknown option '" + e.name + "' (see fcgi-run --help; PROGRAM is '" +
                           kConfigCommandKey + " = PATH', its arguments '" + kConfigArgKey + " = ARG')");
    }
    const std::string key = d->long_name();
    if (CommandLineOnly(key))
      return LineError(path, e.line, "'" + key + "' is allowed only on the command line");
    if (bool on; IsFlag(*d) && !ParseFlagWord(e.value, &on)) {
      return LineError(path, e.line, e.name + " = " + e.value + ": expected " + kFlagWords);
    }
    const bool composing = d->semantic()->is_composing();
    if (!composing) {
      auto [it, inserted] = scalar_line.emplace(key, e.line);
      if (!inserted) {
        return LineError(path, e.line,
                         "'" + key + "' already set on line " + std::to_string(it->second) +
                             " (only repeatable options may be given more than once)");
      }
      if (on_command_line.count(key) != 0) continue;  // the command line replaces it
    }
    po::parsed_options one(&desc);
    po::option opt(key, {e.value});
    opt.original_tokens = {e.name, e.value};
    one.options.push_back(std::move(opt));
    try {
      po::store(one, *vm);
    } catch (const po::error& err) {
      return LineError(path, e.line, err.what());
    }
    if (on_command_line.count(key) == 0) (*origins)[key] = path + ":" + std::to_string(e.line);
  }
  if (first_arg_line != 0 && command->program.empty()) {
    return LineError(path, first_arg_line, "'arg' without 'command' (the PROGRAM the arguments are for)");
  }
  return Status::Ok();
}

Status ApplyConfigFile(const po::options_description& desc, const po::parsed_options& command_line,
                       po::variables_map* vm, ConfigCommand* command,
                       std::map<std::string, std::string>* origins, std::string* path) {
  path->clear();
  for (const po::option& o : command_line.options) {
    if (o.string_key == "help" || o.string_key == "version") return Status::Ok();
    if (o.string_key == "config" && !o.value.empty()) *path = o.value.back();
  }
  if (path->empty()) {
    const char* env = std::getenv(kConfigEnvVar);
    if (env == nullptr || *env == '\0') return Status::Ok();
    *path = env;
  }
  std::vector<ConfigEntry> entries;
  Status s = ReadConfigFile(*path, &entries);
  if (!s.ok()) return s;
  return MergeConfigFile(*path, entries, desc, command_line, vm, command, origins);
}

}  // namespace fcgi
