#include "diag/codes.hpp"

#include <array>

namespace rapport::diag {

namespace {
constexpr std::array kCodes{
    CodeInfo{Code::SyntaxError, "DSL1001", "syntax error: the parser expected something else here"},
    CodeInfo{Code::UnterminatedString, "DSL1002", "a string is not closed before the end of its line"},
    CodeInfo{Code::BadEscape, "DSL1003", "unknown escape sequence in a string"},
    CodeInfo{Code::BadNumber, "DSL1004", "malformed or out-of-range number literal"},
    CodeInfo{Code::BadDuration, "DSL1005", "malformed duration (use h, d or w with no space: 90d)"},
    CodeInfo{Code::BadDateLiteral, "DSL1006", "impossible calendar date or malformed timestamp"},
    CodeInfo{Code::TimestampNotUtc, "DSL1007", "timestamps must be UTC and end in Z"},
    CodeInfo{Code::ChainedComparison, "DSL1008", "comparisons cannot be chained"},
    CodeInfo{Code::ReservedWord, "DSL1009", "a reserved word is used as a name"},
    CodeInfo{Code::InterpolationError, "DSL1010", "error inside a {expr} interpolation"},
    CodeInfo{Code::NestingTooDeep, "DSL1011", "expression nesting is too deep"},
    CodeInfo{Code::InvalidUtf8, "DSL1012", "the file is not valid UTF-8"},
    CodeInfo{Code::MissingEnd, "DSL1013", "a rule or plan is not closed with `end`"},
    CodeInfo{Code::BadIdentifier, "DSL1014", "a rule, plan or parameter id must match [a-z][a-z0-9_]*"},
    CodeInfo{Code::MissingHeader, "DSL1015", "a rule file must start with `pack <name>`"},
    CodeInfo{Code::UnknownEntity, "DSL2001", "unknown entity"},
    CodeInfo{Code::UnknownField, "DSL2002", "unknown field of an entity"},
    CodeInfo{Code::UnknownName, "DSL2003", "unknown name"},
    CodeInfo{Code::UnknownFunction, "DSL2004", "unknown function"},
    CodeInfo{Code::UnknownParameter, "DSL2005", "unknown parameter"},
    CodeInfo{Code::DuplicateName, "DSL2006", "a rule, plan, parameter or let name is defined twice"},
    CodeInfo{Code::ShadowedName, "DSL2007", "a name shadows another one in scope"},
    CodeInfo{Code::AmbiguousName, "DSL2008", "a bare name is both a field and a variable"},
    CodeInfo{Code::LinkUsedBare, "DSL2009", "a link is used as a bare name inside `where`"},
    CodeInfo{Code::UnusedLet, "DSL2010", "a `let` is never used"},
    CodeInfo{Code::UnusedParameter, "DSL2011", "a parameter is never used"},
    CodeInfo{Code::UnknownSeverity, "DSL2012", "unknown severity (info, low, medium, high, critical)"},
    CodeInfo{Code::UnknownType, "DSL2013", "unknown parameter type"},
    CodeInfo{Code::UnknownEnumValue, "DSL2014", "a string is not a value of the enum it is compared with"},
    CodeInfo{Code::NotALink, "DSL2015", "a field is not a link (`_id` reference) to the expected entity"},
    CodeInfo{Code::PortfolioOutsidePlan, "DSL2016", "`portfolio` is only defined inside a plan"},
    CodeInfo{Code::TypeMismatch, "DSL3001", "operand types do not fit the operator"},
    CodeInfo{Code::NotBoolean, "DSL3002", "a condition is not boolean"},
    CodeInfo{Code::NotASet, "DSL3003", "an aggregate or filter needs a set"},
    CodeInfo{Code::NotNumeric, "DSL3004", "arithmetic or an aggregate needs numbers"},
    CodeInfo{Code::UnorderedEnum, "DSL3005", "an enum without order is compared with < or >"},
    CodeInfo{Code::DurationExpected, "DSL3006", "a duration is expected"},
    CodeInfo{Code::KeyedParamWithoutKey, "DSL3007", "a keyed parameter is used without [key]"},
    CodeInfo{Code::WrongParamKey, "DSL3008", "a keyed parameter is indexed with the wrong kind of key"},
    CodeInfo{Code::ArgumentCount, "DSL3009", "wrong number or kind of arguments to a function"},
    CodeInfo{Code::DivisionByZero, "DSL3010", "division by a constant zero"},
    CodeInfo{Code::NotConstant, "DSL3011", "a parameter default must be a literal"},
    CodeInfo{Code::IndexNotKeyed, "DSL3012", "[key] used on something that is not a keyed parameter"},
    CodeInfo{Code::EscalationNotHigher, "DSL4001", "an escalation is not above the base severity"},
    CodeInfo{Code::UnreachableRemedy, "DSL4002", "a conditional text follows an unconditional one and can never apply"},
    CodeInfo{Code::MissingClause, "DSL4003", "a required clause is missing"},
    CodeInfo{Code::DuplicateAttribute, "DSL4004", "an attribute is given twice"},
    CodeInfo{Code::UnguardedNullable, "DSL4005", "a comparison on a nullable field is not guarded"},
    CodeInfo{Code::PairwiseCost, "DSL4006", "a nested set predicate compares every pair of rows"},
    CodeInfo{Code::InvalidPlan, "DSL4007", "a plan clause is not well-formed"},
    CodeInfo{Code::ConstantCondition, "DSL4008", "a condition is always true or always false"},
    CodeInfo{Code::YamlSyntax, "PAR5001", "the YAML file cannot be parsed"},
    CodeInfo{Code::ParamOverrideUnknown, "PAR5002", "an override names a parameter the pack does not have"},
    CodeInfo{Code::ParamOverrideType, "PAR5003", "an override value has the wrong type"},
    CodeInfo{Code::ParamOverrideKey, "PAR5004", "an override key is not a value of the parameter's key field"},
    CodeInfo{Code::PackMismatch, "PAR5005", "the override file names another pack"},
    CodeInfo{Code::UnknownRule, "PAR5006", "an override names a rule the pack does not have"},
    CodeInfo{Code::UnknownKey, "PAR5007", "unknown key in a YAML file"},
    CodeInfo{Code::BadSetOption, "PAR5008", "a --set option is not name=value"},
    CodeInfo{Code::DataFileMissing, "DAT6001", "a data file the rules need is missing"},
    CodeInfo{Code::MalformedRecord, "DAT6002", "a data record cannot be parsed"},
    CodeInfo{Code::WrongFieldType, "DAT6003", "a data value has the wrong type for its field"},
    CodeInfo{Code::MissingColumn, "DAT6004", "a field a rule uses is absent from the data"},
    CodeInfo{Code::DanglingReference, "DAT6005", "a reference points to a record that does not exist"},
    CodeInfo{Code::DuplicateId, "DAT6006", "two records of one entity share an id"},
    CodeInfo{Code::MissingId, "DAT6007", "a record has no id"},
    CodeInfo{Code::BadEnumValueInData, "DAT6008", "a data value is not one of its enum's values"},
    CodeInfo{Code::RunConfig, "RUN7001", "a nightly run configuration value is missing or wrong"},
    CodeInfo{Code::BadWaiver, "RUN7002", "a waiver is malformed"},
    CodeInfo{Code::WaiverUnknownRule, "RUN7003", "a waiver names a rule no pack has"},
    CodeInfo{Code::WaiverExpired, "RUN7004", "a waiver is past its expiry date and no longer applies"},
    CodeInfo{Code::LiveUnknownEntity, "LIVE8001", "a record change names an entity the data does not have"},
    CodeInfo{Code::LiveUnknownField, "LIVE8002", "a record change names a field its entity does not have"},
    CodeInfo{Code::LiveWrongType, "LIVE8003", "a changed value has the wrong type for its field"},
    CodeInfo{Code::LiveBadEnumValue, "LIVE8004", "a changed value is not one of its enum's values"},
    CodeInfo{Code::LiveUnknownId, "LIVE8005", "a delete names a record that does not exist"},
    CodeInfo{Code::LiveMalformedChange, "LIVE8006", "a record change has no id, or changes a record's id"},
    CodeInfo{Code::ServeConfig, "SRV9001", "a serve configuration value is missing or wrong"},
};
}  // namespace

std::span<const CodeInfo> all_codes() { return kCodes; }

std::string_view code_id(Code code) {
  for (const auto& info : kCodes) {
    if (info.code == code) return info.id;
  }
  return "RPT0000";
}

}  // namespace rapport::diag
