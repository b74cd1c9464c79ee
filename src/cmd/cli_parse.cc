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
    exit.code = app.exit(e, out, err);
    exit.out = out.str();
    exit.err = err.str();
    return exit;
  }
  return std::nullopt;
}

}  // namespace nixsnap::cmd
