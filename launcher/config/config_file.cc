#include "launcher/config/config_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <set>

#include "core/strings.h"

namespace fcgi {

namespace po = boost::program_options;

namespace {

// Blanks around names, values and comments (a CRLF file's CR too).
constexpr std::string_view kFileBlanks = " \t\r\f\v";

bool IsFileBlank(char c) { return kFileBlanks.find(c) != std::string_view::npos; }

std::string LineError(const std::string& source, int line, const std::string& what) {
  return source + ":" + std::to_string(line) + ": " + what;
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

std::vector<std::string> LongNames(const po::options_description& desc) {
  std::vector<std::string> names;
  for (const auto& d : desc.options()) names.push_back(d->long_name());
  return names;
}

std::string UnknownOption(const std::string& written, std::string_view bare, const std::string& dashes,
                          const po::options_description& desc) {
  std::string message = "unknown option '" + written + "'";
  std::vector<std::string> names = LongNames(desc);
  names.push_back(kConfigCommandKey);
  names.push_back(kConfigArgKey);
  if (std::string best = ClosestMatch(bare, names); !best.empty()) {
    message += "; did you mean '" + dashes + best + "'?";
  }
  return message;
}

std::string CommentHint(std::string_view value) {
  for (size_t i = 1; i < value.size(); ++i) {
    if (value[i] == '#' && IsFileBlank(value[i - 1])) {
      return " (comments go on lines of their own: a '#' after a value is part of the value)";
    }
  }
  return "";
}

void ParseConfigText(std::string_view text, const std::string& source, std::vector<ConfigEntry>* out,
                     std::vector<std::string>* errors) {
  int line_no = 0;
  while (!text.empty()) {
    ++line_no;
    size_t nl = text.find('\n');
    std::string_view raw = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    std::string_view line = Trim(raw, kFileBlanks);
    if (line.empty() || line.front() == '#') continue;
    if (line.front() == '[') {
      errors->push_back(LineError(
          source, line_no, "sections (" + std::string(line) + ") are not supported: write name = value"));
      continue;
    }
    size_t eq = line.find('=');
    if (eq == std::string_view::npos) {
      errors->push_back(
          LineError(source, line_no, "expected 'name = value', got '" + std::string(line) + "'"));
      continue;
    }
    std::string_view name = Trim(line.substr(0, eq), kFileBlanks);
    if (name.empty()) {
      errors->push_back(LineError(source, line_no, "missing option name before '='"));
      continue;
    }
    if (name.substr(0, 1) == "-") {
      errors->push_back(LineError(source, line_no,
                                  "write option names without dashes ('" +
                                      std::string(name.substr(name.find_first_not_of('-'))) + " = ...')"));
      continue;
    }
    if (name.find_first_of(kFileBlanks) != std::string_view::npos) {
      errors->push_back(
          LineError(source, line_no, "option name '" + std::string(name) + "' contains a blank"));
      continue;
    }
    ConfigEntry e;
    e.name = std::string(name);
    e.value = std::string(Trim(line.substr(eq + 1), kFileBlanks));
    e.line = line_no;
    out->push_back(std::move(e));
  }
}

Status ReadConfigFile(const std::string& path, std::string* text) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::FromErrno("open(2) config file", path, errno);
  text->clear();
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
    text->append(buf, static_cast<size_t>(n));
    if (text->size() > (1u << 20)) {
      ::close(fd);
      return Status::Invalid(path + ": config file larger than 1 MiB");
    }
  }
  ::close(fd);
  return Status::Ok();
}

void MergeConfigFile(const std::string& path, const std::vector<ConfigEntry>& entries,
                     const po::options_description& desc, OptionValues* values, ConfigCommand* command,
                     std::vector<std::string>* errors) {
  std::set<std::string> on_command_line;
  for (const auto& [key, list] : *values) on_command_line.insert(key);
  std::map<std::string, int> scalar_line;  // single-valued option -> line that set it
  OptionValues from_file;
  int command_line_no = 0, first_arg_line = 0;
  for (const ConfigEntry& e : entries) {
    if (e.name == kConfigCommandKey) {
      if (command_line_no != 0) {
        errors->push_back(
            LineError(path, e.line, "command already set on line " + std::to_string(command_line_no)));
      } else if (e.value.empty()) {
        errors->push_back(LineError(path, e.line, "command needs a value (the PROGRAM to run)"));
      } else {
        command_line_no = e.line;
        command->program = e.value;
      }
      continue;
    }
    if (e.name == kConfigArgKey) {
      if (first_arg_line == 0) first_arg_line = e.line;
      command->args.push_back(e.value);
      continue;
    }
    const po::option_description* d = desc.find_nothrow(e.name, false);
    if (d == nullptr) {
      errors->push_back(LineError(path, e.line,
                                  UnknownOption(e.name, e.name, "", desc) +
                                      " (see fcgi-run --help; PROGRAM is '" + kConfigCommandKey +
                                      " = PATH', its arguments '" + kConfigArgKey + " = ARG')"));
      continue;
    }
    const std::string key = d->long_name();
    if (CommandLineOnly(key)) {
      errors->push_back(LineError(path, e.line, "'" + key + "' is allowed only on the command line"));
      continue;
    }
    if (bool on; IsFlag(*d) && !ParseFlagWord(e.value, &on)) {
      errors->push_back(LineError(
          path, e.line, e.name + " = " + e.value + ": expected " + kFlagWords + CommentHint(e.value)));
      continue;
    }
    if (!d->semantic()->is_composing()) {
      auto [it, inserted] = scalar_line.emplace(key, e.line);
      if (!inserted) {
        errors->push_back(LineError(path, e.line,
                                    "'" + key + "' already set on line " + std::to_string(it->second) +
                                        " (only repeatable options may be given more than once)"));
        continue;
      }
      if (on_command_line.count(key) != 0) continue;  // the command line replaces it
    }
    from_file[key].push_back(OptionValue{e.value, path + ":" + std::to_string(e.line)});
  }
  if (first_arg_line != 0 && command->program.empty() && command_line_no == 0) {
    errors->push_back(
        LineError(path, first_arg_line, "'arg' without 'command' (the PROGRAM the arguments are for)"));
  }
  for (auto& [key, list] : from_file) {
    std::vector<OptionValue>& merged = (*values)[key];
    merged.insert(merged.begin(), list.begin(), list.end());
  }
}

}  // namespace fcgi
