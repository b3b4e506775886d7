// Config file: `fcgi-run --config FILE` (or FCGI_RUN_CONFIG=FILE in the
// environment when --config is absent, for Apache mod_fcgid, which passes only
// PATH and FcgidInitialEnv to the launcher).
//
// Format, read line by line so that every error names the file and the line:
//   # comment                 a line whose first non-blank character is '#';
//                             comments have lines of their own, as in systemd
//                             units: a '#' after a value is part of the value
//                             (env = COLOR=#fff keeps "#fff")
//   name = value              any long command-line option without "--";
//                             whitespace around name and value is dropped
//   allow-root = true         flags take true/false (also yes/no, on/off, 1/0;
//                             any case; an empty value is an error)
//   env = A=1                 repeatable options: one line per value
//   command = /srv/app.cgi    the PROGRAM (file-only key; `program` is the
//   arg = --flag              dispatcher allow-list option) and its ARGS, one
//                             `arg` line each, in order
// Sections ("[name]"), lines without '=', and unknown names are errors; every
// one of them is reported, not only the first.
//
// Precedence (MergeConfigFile): the command line wins. A single-valued option
// given on the command line replaces the file's value; a repeatable option
// (listen, http, env, program, request, ...) keeps the file's values and
// appends the command line's. Flags are single-valued: `--syslog=false` on
// the command line switches off `syslog = true` of the file (and `--syslog`
// switches on what the file left off). A PROGRAM on the command line replaces
// the file's `command` and all its `arg` lines. A scalar given twice in one
// file is an error (both lines are named).
#ifndef FCGI_RUN_LAUNCHER_CONFIG_CONFIG_FILE_H_
#define FCGI_RUN_LAUNCHER_CONFIG_CONFIG_FILE_H_

#include <boost/program_options.hpp>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace fcgi {

// The environment variable read when --config is absent.
inline constexpr const char* kConfigEnvVar = "FCGI_RUN_CONFIG";
// File-only keys for the positional PROGRAM [ARGS...].
inline constexpr const char* kConfigCommandKey = "command";
inline constexpr const char* kConfigArgKey = "arg";

// Flags (bool options: syslog, verbose, allow-root, ...) take the same words in
// the file (`syslog = false`) and on the command line (`--syslog=false`):
// true/yes/on/1 or false/no/off/0, in any case. Describes them in messages.
inline constexpr const char* kFlagWords = "true or false (also yes/no, on/off, 1/0)";

// *value = the word's meaning; false (and *value untouched) for any other word,
// the empty one included.
bool ParseFlagWord(std::string_view word, bool* value);

// Whether `d` is a flag: its value is a bool (options.cc makes every flag a
// po::value<bool> with implicit value true, so `--NAME` alone means true).
bool IsFlag(const boost::program_options::option_description& d);

// The long names of `desc`, for "did you mean" hints.
std::vector<std::string> LongNames(const boost::program_options::options_description& desc);

// "unknown option 'NAME'" (NAME as written, with its dashes), with "; did you
// mean 'BEST'?" when a long name of `desc` is close (core/strings.h's
// ClosestMatch; `dashes` is put in front of the suggestion).
std::string UnknownOption(const std::string& written, std::string_view bare, const std::string& dashes,
                          const boost::program_options::options_description& desc);

// For an error about a value of the file that holds " #": "" when it does
// not, else a reminder that comments have lines of their own.
std::string CommentHint(std::string_view value);

struct ConfigEntry {
  std::string name;
  std::string value;
  int line = 0;  // 1-based
};

// Splits `text` into entries (pure; no knowledge of option names). Every
// malformed line adds an error "<source>:<line>: <what>" and is skipped.
void ParseConfigText(std::string_view text, const std::string& source, std::vector<ConfigEntry>* out,
                     std::vector<std::string>* errors);

// Reads the file at `path` (at most 1 MiB); errors name the path.
Status ReadConfigFile(const std::string& path, std::string* text);

// One value of an option and where it came from.
struct OptionValue {
  std::string text;
  std::string origin;  // "FILE:LINE" for the config file, "" for the command line
};
// Every option given, by long name; a repeatable option's values in order,
// the file's before the command line's.
using OptionValues = std::map<std::string, std::vector<OptionValue>>;

// The PROGRAM and ARGS a config file gave (`command`, `arg`).
struct ConfigCommand {
  std::string program;  // "" = none in the file
  std::vector<std::string> args;
};

// Adds the file's entries to *values, which already holds the command line's
// (rules in the header comment), and the file's `command`/`arg` lines to
// *command. Errors, each naming "<path>:<line>": unknown names (with a "did
// you mean"), options allowed only on the command line (config,
// check-config, help, version), a flag's value that is not one of kFlagWords
// (even when the command line replaces it), a scalar set twice, `arg`
// without `command`. Every entry is looked at: all errors are reported.
void MergeConfigFile(const std::string& path, const std::vector<ConfigEntry>& entries,
                     const boost::program_options::options_description& desc, OptionValues* values,
                     ConfigCommand* command, std::vector<std::string>* errors);

}  // namespace fcgi

#endif  // FCGI_RUN_LAUNCHER_CONFIG_CONFIG_FILE_H_
