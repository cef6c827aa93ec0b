// commands.hpp: one function per subcommand; each parses its own flags (Boost.Program_options),
// calls the libraries and returns the exit code. Errors propagate to main() as exceptions.
#pragma once

#include <string>
#include <vector>

#include <boost/program_options.hpp>

namespace hrm::cli {

using Args = std::vector<std::string>;  // arguments after the subcommand words

// The positional words of `hrm analyze|train|probe|config convert`: FILE [KEY=VALUE...].
struct FileAndOverrides {
  std::string file;
  std::vector<std::string> overrides;
};
// Parses `args` with the command's `opts` plus the positional FILE (required or not) and
// KEY=VALUE words into `out`. Returns the stored values: check --help, then call po::notify.
boost::program_options::variables_map parse_file_and_overrides(const Args& args,
                                                               const boost::program_options::options_description& opts,
                                                               FileAndOverrides& out, bool file_required);

int data_build(const Args& args);       // hrm data build sudoku|arc|maze ...
int data_info(const Args& args);        // hrm data info DIR
int analyze(const Args& args);          // hrm analyze CONFIG [KEY=VALUE...]
int train(const Args& args);            // hrm train CONFIG [KEY=VALUE...]
int eval(const Args& args);             // hrm eval CHECKPOINT
int probe(const Args& args);            // hrm probe CONFIG [KEY=VALUE...]
int report(const Args& args);           // hrm report RUN_DIR [--out FILE]
int config(const Args& args);           // hrm config convert FILE.yaml [--out FILE.toml]

}  // namespace hrm::cli
