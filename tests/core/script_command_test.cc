#include "core/script_command.h"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

namespace fcgi {
namespace {

using Strings = std::vector<std::string>;

ProgramFacts Script(const std::string& interpreter, const std::string& argument, const std::string& elf = "",
                    const std::string& real = "") {
  ProgramFacts f;
  f.shebang = Shebang{interpreter, argument};
  f.interpreter = elf.empty() ? interpreter : elf;
  f.interpreter_real = real.empty() ? f.interpreter : real;
  return f;
}

ProgramFacts Elf(const std::string& path, const std::string& real = "") {
  ProgramFacts f;
  f.interpreter = path;
  f.interpreter_real = real.empty() ? path : real;
  return f;
}

TEST_CASE("script command: interpreters by file name", "[script_command]") {
  CHECK(LanguageOfInterpreter("/usr/bin/perl") == ScriptLanguage::kPerl);
  CHECK(LanguageOfInterpreter("/usr/bin/perl5.36.0") == ScriptLanguage::kPerl);
  CHECK(LanguageOfInterpreter("perl5") == ScriptLanguage::kPerl);
  CHECK(LanguageOfInterpreter("/usr/bin/python3") == ScriptLanguage::kPython);
  CHECK(LanguageOfInterpreter("/usr/bin/python3.11") == ScriptLanguage::kPython);
  for (const char* other :
       {"/usr/bin/python", "/usr/bin/python2.7", "/usr/bin/perl6", "/bin/sh", "/usr/bin/perldoc",
        "/usr/bin/python3-config", "/usr/bin/python3.", "/usr/bin/perl5..1"}) {
    INFO(other);
    CHECK(LanguageOfInterpreter(other) == ScriptLanguage::kNone);
  }
}

TEST_CASE("script command: a #! script with options, as the kernel starts it", "[script_command]") {
  std::string why;
  auto inv = FindScriptInvocation("/srv/a.pl", {"x"}, Script("/usr/bin/perl", "-wT"), &why);
  REQUIRE(inv);
  CHECK(why.empty());
  CHECK(inv->language == ScriptLanguage::kPerl);
  CHECK(inv->interpreter == "/usr/bin/perl");
  CHECK(inv->options == Strings{"-wT"});
  CHECK(inv->script == "/srv/a.pl");
  CHECK(inv->args == Strings{"x"});
  Strings args;
  REQUIRE(
      ScriptParkArguments(*inv, "/usr/lib/fcgi-run", "/usr/lib/fcgi-run/libfcgi-run-compat.so", &args, &why));
  CHECK(args == Strings{"-wT", "-I/usr/lib/fcgi-run",
                        "-MFcgiRun::ScriptPark=/usr/lib/fcgi-run/libfcgi-run-compat.so,/usr/lib/fcgi-run",
                        "/srv/a.pl", "x"});

  inv = FindScriptInvocation("/srv/b.py", {}, Script("/usr/bin/python3", "-u"), &why);
  REQUIRE(inv);
  CHECK(inv->language == ScriptLanguage::kPython);
  REQUIRE(ScriptParkArguments(*inv, "/lib/f", "/lib/f/libfcgi-run-compat.so", &args, &why));
  CHECK(args == Strings{"-u", "/lib/f/fcgi_run_park.py", "/lib/f/libfcgi-run-compat.so", "/srv/b.py"});

  // Perl reads several options from one "#!" word, as the kernel passes it.
  for (const char* ok : {"-w", "-w -T", "-CS", "-CSDA", "-T -CSD", "-l", "-l015", "-0777", "-Ilib",
                         "-Mstrict", "-mPOSIX", "-w  -t", "-X", "-a -n", "-p"}) {
    INFO(ok);
    CHECK(FindScriptInvocation("/srv/a.pl", {}, Script("/usr/bin/perl", ok), &why));
  }
}

TEST_CASE("script command: options that only a fresh interpreter keeps, and other programs",
          "[script_command]") {
  std::string why;
  for (const char* bad :
       {"-e", "-we", "-E", "-x", "-i.bak", "-d", "-c", "-S", "-I", "-M", "-v", "-", "-w -", "--", "-F:"}) {
    INFO(bad);
    CHECK_FALSE(FindScriptInvocation("/srv/a.pl", {}, Script("/usr/bin/perl", bad), &why));
    CHECK(why.find(bad) != std::string::npos);
  }
  for (const char* bad : {"-c", "-m", "-i", "-x", "-W", "-u -B", "--", "-h", "-V"}) {
    INFO(bad);
    CHECK_FALSE(FindScriptInvocation("/srv/b.py", {}, Script("/usr/bin/python3", bad), &why));
    CHECK_FALSE(why.empty());
  }
  for (const char* ok : {"-u", "-uB", "-Wdefault", "-Xdev", "-OO", "-I", "-sE"}) {
    INFO(ok);
    CHECK(FindScriptInvocation("/srv/b.py", {}, Script("/usr/bin/python3", ok), &why));
  }
  // Not Perl or Python: nothing to say.
  CHECK_FALSE(FindScriptInvocation("/srv/c.sh", {}, Script("/bin/sh", "-e"), &why));
  CHECK(why.empty());
  CHECK_FALSE(FindScriptInvocation("/srv/c", {}, Elf("/srv/c"), &why));
  CHECK(why.empty());
}

TEST_CASE("script command: #!/usr/bin/env NAME and symlinked interpreters", "[script_command]") {
  std::string why;
  auto inv =
      FindScriptInvocation("/srv/b.py", {}, Script("/usr/bin/env", "python3", "/usr/bin/python3"), &why);
  REQUIRE(inv);
  CHECK(inv->interpreter == "/usr/bin/python3");
  CHECK(inv->options.empty());
  // env with options or assignments: env does more than run NAME.
  CHECK_FALSE(FindScriptInvocation("/srv/b.py", {},
                                   Script("/usr/bin/env", "-S python3 -u", "/usr/bin/python3"), &why));
  CHECK_FALSE(why.empty());
  CHECK_FALSE(
      FindScriptInvocation("/srv/b.py", {}, Script("/usr/bin/env", "A=1 python3", "/usr/bin/python3"), &why));
  // python -> python3.11: the real file name decides.
  inv = FindScriptInvocation("/srv/b.py", {},
                             Script("/usr/bin/python", "", "/usr/bin/python", "/usr/bin/python3.11"), &why);
  REQUIRE(inv);
  CHECK(inv->language == ScriptLanguage::kPython);
}

TEST_CASE("script command: perl or python3 given the script as an argument", "[script_command]") {
  std::string why;
  auto inv =
      FindScriptInvocation("/usr/bin/perl", {"-T", "/srv/a.pl", "one", "-x"}, Elf("/usr/bin/perl"), &why);
  REQUIRE(inv);
  CHECK(inv->options == Strings{"-T"});
  CHECK(inv->script == "/srv/a.pl");
  CHECK(inv->args == Strings{"one", "-x"});
  inv = FindScriptInvocation("/usr/bin/python3", {"/srv/b.py"},
                             Elf("/usr/bin/python3", "/usr/bin/python3.11"), &why);
  REQUIRE(inv);
  CHECK(inv->script == "/srv/b.py");
  CHECK_FALSE(FindScriptInvocation("/usr/bin/perl", {"-e", "print 1"}, Elf("/usr/bin/perl"), &why));
  CHECK(why.find("-e") != std::string::npos);
  CHECK_FALSE(FindScriptInvocation("/usr/bin/python3", {"-m", "http.server"}, Elf("/usr/bin/python3"), &why));
  CHECK_FALSE(FindScriptInvocation("/usr/bin/python3", {"-u"}, Elf("/usr/bin/python3"), &why));
  CHECK(why == "no script among its arguments");
}

TEST_CASE("script command: a ',' in a path perl -M would split", "[script_command]") {
  std::string why;
  auto inv = FindScriptInvocation("/srv/a.pl", {}, Script("/usr/bin/perl", ""), &why);
  REQUIRE(inv);
  Strings args;
  CHECK_FALSE(ScriptParkArguments(*inv, "/opt/a,b", "/opt/a,b/libfcgi-run-compat.so", &args, &why));
  CHECK(why.find("/opt/a,b") != std::string::npos);
}

}  // namespace
}  // namespace fcgi
