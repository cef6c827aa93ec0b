// json_format.hpp: bytes exactly as Python's json.dump writes them (HRM's dataset.json and
// identifiers.json are compared byte for byte), and JSON number formatting shared by reports.
#pragma once

#include <exception>
#include <string>
#include <vector>

namespace hrm {

std::string python_float_repr(double v);                 // repr(float): "1.0", "4.154166666666667", "1e-05"
std::string python_json_string(const std::string& s);    // json.dumps(str) with ensure_ascii=True
std::string python_json_string_list(const std::vector<std::string>& v);  // json.dumps(list)

// Strict UTF-8 (no overlong forms, surrogates or code points above U+10FFFF): what TOML and JSON
// readers accept back, so a string that passes can be written into either and read again.
bool is_valid_utf8(const std::string& s);

// The two-character escape JSON and TOML share for `c` (\" \\ \n \r \t \b \f), or nullptr.
const char* short_escape(unsigned c);

// A JSON library exception's message without its "[json.exception.out_of_range.406] " prefix.
// nlohmann's parser throws out_of_range (not parse_error) for a number too large for a double
// ("1e400"), so every reader catches both (found by fuzz_dataset_json).
std::string json_error_reason(const std::exception& e);

}  // namespace hrm
