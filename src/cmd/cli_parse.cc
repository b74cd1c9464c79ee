#include "cmd/cli_parse.h"

#include <sstream>

namespace nixsnap::cmd {

std::optional<CliExit> parseWith(CLI::App& app, const std::vector<std::string>& args) {
  std::vector<std::string> reversed(args.rbegin(), args.rend());  // CLI11 pops from the back
  try {
    app.parse(reversed);
  } catch (const CLI::Error& e) {
    std::ostringstream out;
    std::ostringstream err;
    CliExit exit;
    std::vector<std::string> extras = app.remaining(/*recurse=*/true);
    if (dynamic_cast<const CLI::RequiredError*>(&e) != nullptr && !extras.empty()) {
      // CLI11 checks requirements before extras: "nix2container --bogus" would otherwise
      // say "A subcommand is required" and never name what it did not understand.
      exit.code = app.exit(CLI::ExtrasError(extras), out, err);
    } else {
      exit.code = app.exit(e, out, err);
    }
    // Usage errors end with 2, as a bad --log-level does; CLI11's own codes are >= 100.
    if (exit.code != 0) {
      exit.code = 2;
    }
    exit.out = out.str();
    exit.err = err.str();
    // CLI11's message ("A subcommand is required") reads like the program's own errors.
    if (exit.code != 0 && !exit.err.empty()) {
      exit.err = app.get_name() + ": " + exit.err;
    }
    return exit;
  }
  return std::nullopt;
}

}  // namespace nixsnap::cmd
