// Checks of numeric command-line options whose failures people can read:
//   error: --from: must be >= 0 (got '-1')
//   error: --count: must be an integer >= 0 (got 'x')
// instead of CLI11's "Value -1 not in range 0.000000 to 1797693...(309 digits)". CLI11 puts the
// option's name in front; the help keeps CLI11's short descriptions (NONNEGATIVE, INT in [1 - 64]).
// Integers are an optional '-' and decimal digits, which is what people type.
// Pure functions; thread-safe.
#pragma once

#include <cstdint>

#include <CLI/CLI.hpp>

namespace reckon::cli {

// An integer in [min, max].
CLI::Validator integer_in_range(uint64_t min, uint64_t max);
// An integer >= min (0: NonNegativeNumber, 1: PositiveNumber) and at most 2^63-1, so that it
// fits int64 and uint64 options alike.
CLI::Validator integer_at_least(uint64_t min);

// A finite number in [min, max].
CLI::Validator number_in_range(double min, double max);
// A finite number >= min.
CLI::Validator number_at_least(double min);
// A finite number > min.
CLI::Validator number_above(double min);

}  // namespace reckon::cli
