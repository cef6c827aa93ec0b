// file_and_overrides.cpp: the FILE [KEY=VALUE...] command line shared by analyze, train, probe and config
// convert (commands.hpp).
#include "apps/hrm/commands.hpp"

namespace po = boost::program_options;

namespace hrm::cli {

po::variables_map parse_file_and_overrides(const Args& args, const po::options_description& opts, FileAndOverrides& out,
                                           bool file_required) {
  auto* file = po::value(&out.file);
  if (file_required) file->required();
  po::options_description hidden;
  hidden.add_options()("config", file, "the config file")("override", po::value(&out.overrides)->composing(), "KEY=VALUE");
  po::options_description all;
  all.add(opts).add(hidden);
  po::positional_options_description pos;
  pos.add("config", 1).add("override", -1);
  po::variables_map vm;
  po::store(po::command_line_parser(args).options(all).positional(pos).run(), vm);
  return vm;
}

}  // namespace hrm::cli
