// commands.hpp: one function per subcommand; each parses its own flags (Boost.Program_options),
// calls the libraries and returns the exit code. Errors propagate to main() as exceptions.
#pragma once

#include <string>
#include <vector>

namespace hrm::cli {

using Args = std::vector<std::string>;  // arguments after the subcommand words

int data_build(const Args& args);       // hrm data build sudoku|arc|maze ...
int data_info(const Args& args);        // hrm data info DIR
int analyze(const Args& args);          // hrm analyze CONFIG [KEY=VALUE...]
int train(const Args& args);            // hrm train CONFIG [KEY=VALUE...]
int eval(const Args& args);             // hrm eval CHECKPOINT
int probe(const Args& args);            // hrm probe CONFIG [KEY=VALUE...]
int report(const Args& args);           // hrm report RUN_DIR [--out FILE]
int config(const Args& args);           // hrm config convert FILE.yaml [--out FILE.toml]

}  // namespace hrm::cli
