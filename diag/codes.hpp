#pragma once
// The table of stable diagnostic codes. A code is never reused for a different meaning;
// docs/diagnostics.md lists them all (generated from this table by `rapport codes`).

#include <span>
#include <string_view>

namespace rapport::diag {

enum class Code {
  // DSL1xxx: syntax
  SyntaxError,            // DSL1001 generic "expected X"
  UnterminatedString,     // DSL1002
  BadEscape,              // DSL1003
  BadNumber,              // DSL1004 malformed or out-of-range number literal
  BadDuration,            // DSL1005 90days, 3mo, 90 d
  BadDateLiteral,         // DSL1006 impossible calendar date / malformed timestamp
  TimestampNotUtc,        // DSL1007
  ChainedComparison,      // DSL1008
  ReservedWord,           // DSL1009 keyword used as a name
  InterpolationError,     // DSL1010 bad {expr} inside a string
  NestingTooDeep,         // DSL1011
  InvalidUtf8,            // DSL1012
  MissingEnd,             // DSL1013
  BadIdentifier,          // DSL1014 rule id not [a-z][a-z0-9_]*
  MissingHeader,          // DSL1015 file does not start with `pack`
  // DSL2xxx: names
  UnknownEntity,          // DSL2001
  UnknownField,           // DSL2002
  UnknownName,            // DSL2003
  UnknownFunction,        // DSL2004
  UnknownParameter,       // DSL2005
  DuplicateName,          // DSL2006 duplicate rule/plan/param/let
  ShadowedName,           // DSL2007
  AmbiguousName,          // DSL2008 bare name in where is both field and variable
  LinkUsedBare,           // DSL2009
  UnusedLet,              // DSL2010 (warning)
  UnusedParameter,        // DSL2011 (warning)
  UnknownSeverity,        // DSL2012
  UnknownType,            // DSL2013
  UnknownEnumValue,       // DSL2014
  NotALink,               // DSL2015
  PortfolioOutsidePlan,   // DSL2016
  // DSL3xxx: types
  TypeMismatch,           // DSL3001
  NotBoolean,             // DSL3002
  NotASet,                // DSL3003
  NotNumeric,             // DSL3004
  UnorderedEnum,          // DSL3005
  DurationExpected,       // DSL3006
  KeyedParamWithoutKey,   // DSL3007
  WrongParamKey,          // DSL3008
  ArgumentCount,          // DSL3009
  DivisionByZero,         // DSL3010
  NotConstant,            // DSL3011 parameter default is not a literal
  IndexNotKeyed,          // DSL3012 [..] on something not keyed
  // DSL4xxx: rule shape and lint
  EscalationNotHigher,    // DSL4001 (warning)
  UnreachableRemedy,      // DSL4002 (warning)
  MissingClause,          // DSL4003 rule without message etc.
  DuplicateAttribute,     // DSL4004
  UnguardedNullable,      // DSL4005 (info)
  PairwiseCost,           // DSL4006 (warning)
  InvalidPlan,            // DSL4007
  ConstantCondition,      // DSL4008 (warning)
  // PAR5xxx: parameters and YAML
  YamlSyntax,             // PAR5001
  ParamOverrideUnknown,   // PAR5002
  ParamOverrideType,      // PAR5003
  ParamOverrideKey,       // PAR5004
  PackMismatch,           // PAR5005
  UnknownRule,            // PAR5006
  UnknownKey,             // PAR5007
  BadSetOption,           // PAR5008
  // DAT6xxx: data
  DataFileMissing,        // DAT6001
  MalformedRecord,        // DAT6002
  WrongFieldType,         // DAT6003
  MissingColumn,          // DAT6004 a field a rule uses is absent from the data
  DanglingReference,      // DAT6005
  DuplicateId,            // DAT6006
  MissingId,              // DAT6007
  BadEnumValueInData,     // DAT6008
  // RUN7xxx: nightly runs (`rapport run`)
  RunConfig,              // RUN7001 a nightly.yaml value is missing or wrong
  BadWaiver,              // RUN7002 a waiver is malformed
  WaiverUnknownRule,      // RUN7003 (warning) a waiver names a rule no pack has
  WaiverExpired,          // RUN7004 (warning) a waiver is past its expiry date
  // LIVE8xxx: record changes for a live snapshot (`rapport serve`: what-if and webhooks)
  LiveUnknownEntity,      // LIVE8001 a change names an entity the data does not have
  LiveUnknownField,       // LIVE8002 a change names a field its entity does not have
  LiveWrongType,          // LIVE8003 a changed value has the wrong type for its field
  LiveBadEnumValue,       // LIVE8004 (warning) a changed value is not one of its enum's values
  LiveUnknownId,          // LIVE8005 a delete names a record that does not exist
  LiveMalformedChange,    // LIVE8006 a change has no id or changes a record's id
  // SRV9xxx: the live server (`rapport serve`)
  ServeConfig,            // SRV9001 a serve.yaml value is missing or wrong
};

struct CodeInfo {
  Code code;
  std::string_view id;       // "DSL2003"
  std::string_view summary;  // one line, for docs and `rapport codes`
};

/// The whole table, in code order.
std::span<const CodeInfo> all_codes();
/// The stable string id of a code ("DSL2003").
std::string_view code_id(Code code);

}  // namespace rapport::diag
