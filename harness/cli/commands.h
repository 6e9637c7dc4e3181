// One function per subcommand (CLI11 "subcommands in files"): each adds its subcommand to the
// app with its own options struct and sets the callback that runs it. Callbacks throw
// nfb::Error subclasses; main() maps them to exit codes.
#pragma once

#include <CLI/CLI.hpp>

namespace nfb::cli {

// Set by callbacks that complete with a non-zero status without an error (e.g. doctor).
inline int g_exit_status = 0;

void SetupRunCommand(CLI::App& app);
void SetupValidateCommand(CLI::App& app);
void SetupListCommand(CLI::App& app);
void SetupDoctorCommand(CLI::App& app);
void SetupCleanupCommand(CLI::App& app);
void SetupPlotCommand(CLI::App& app);
void SetupCompareCommand(CLI::App& app);

}  // namespace nfb::cli
