// Config file: `fcgi-run --config FILE` (or FCGI_RUN_CONFIG=FILE in the
// environment when --config is absent, for Apache mod_fcgid, which passes only
// PATH and FcgidInitialEnv to the launcher).
//
// Format: Boost.Program_options' config-file syntax, read line by line here so
// that every error names the file and the line:
//   # comment                 a line whose first non-blank character is '#'
//   name = value              any long command-line option without "--";
//                             whitespace around name and value is dropped; a
//                             " #" (blank, then '#') starts a trailing comment
//   allow-root = true         flags take true/false (also yes/no, on/off, 1/0;
//                             any case; an empty value is an error)
//   env = A=1                 repeatable options: one line per value
//   command = /srv/app.cgi    the PROGRAM (file-only key; `program` is the
//   arg = --flag              dispatcher allow-list option) and its ARGS, one
//                             `arg` line each, in order
// Sections ("[name]"), lines without '=', and unknown names are errors.
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

struct ConfigEntry {
  std::string name;
  std::string value;
  int line = 0;  // 1-based
};

// Splits `text` into entries (pure; no knowledge of option names). Errors are
// kInvalidArgument, "<source>:<line>: <what>".
Status ParseConfigText(std::string_view text, const std::string& source, std::vector<ConfigEntry>* out);

// Reads `path` and parses it; errors name the path (and the line).
Status ReadConfigFile(const std::string& path, std::vector<ConfigEntry>* out);

// The PROGRAM and ARGS a config file gave (`command`, `arg`).
struct ConfigCommand {
  std::string program;  // "" = none in the file
  std::vector<std::string> args;
};

// Stores the file's entries and the already-parsed command line into *vm
// (then the caller runs po::notify). Rules in the header comment. `origins`
// receives, per option name set from the file, "<path>:<line>" of its last
// value, so later validation errors can name the line. Unknown names, options
// allowed only on the command line (config, check-config, help, version), a
// flag's value that is not one of kFlagWords (even when the command line
// replaces it) and values Boost rejects are errors naming the file and line.
Status MergeConfigFile(const std::string& path, const std::vector<ConfigEntry>& entries,
                       const boost::program_options::options_description& desc,
                       const boost::program_options::parsed_options& command_line,
                       boost::program_options::variables_map* vm, ConfigCommand* command,
                       std::map<std::string, std::string>* origins);

// What ParseCommandLine calls: takes the file from --config on `command_line`,
// else from FCGI_RUN_CONFIG (ignored when empty), reads it and merges it as
// above. *path is the file read ("" = none: nothing is done, as also with
// --help or --version on the command line).
Status ApplyConfigFile(const boost::program_options::options_description& desc,
                       const boost::program_options::parsed_options& command_line,
                       boost::program_options::variables_map* vm, ConfigCommand* command,
                       std::map<std::string, std::string>* origins, std::string* path);

}  // namespace fcgi

#endif  // FCGI_RUN_LAUNCHER_CONFIG_CONFIG_FILE_H_
