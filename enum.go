package hashtrail

import "strings"

// Category classifies an event.
type Category string

// The categories of DESIGN §1.
const (
	CategoryAuthentication Category = "authentication"
	CategoryAuthorization  Category = "authorization"
	CategoryAccount        Category = "account"
	CategoryAccess         Category = "access"
	CategoryConfiguration  Category = "configuration"
	CategoryData           Category = "data"
	CategoryResource       Category = "resource"
	CategorySystem         Category = "system"
	CategorySecurity       Category = "security"
)

// Categories lists every valid category.
var Categories = []Category{
	CategoryAuthentication, CategoryAuthorization, CategoryAccount, CategoryAccess,
	CategoryConfiguration, CategoryData, CategoryResource, CategorySystem, CategorySecurity,
}

// Valid reports whether c is one of Categories.
func (c Category) Valid() bool { return oneOf(c, Categories) }

// Severity is how much an event matters. Severities are ordered.
type Severity string

// The severities of DESIGN §1, lowest first.
const (
	SeverityInfo     Severity = "info"
	SeverityLow      Severity = "low"
	SeverityMedium   Severity = "medium"
	SeverityHigh     Severity = "high"
	SeverityCritical Severity = "critical"
)

// Severities lists every severity, lowest first.
var Severities = []Severity{SeverityInfo, SeverityLow, SeverityMedium, SeverityHigh, SeverityCritical}

// Valid reports whether s is one of Severities.
func (s Severity) Valid() bool { return oneOf(s, Severities) }

// Rank returns s's position in Severities (0 for info), or -1 if invalid.
func (s Severity) Rank() int {
	for i, v := range Severities {
		if v == s {
			return i
		}
	}
	return -1
}

// Outcome says whether the action worked.
type Outcome string

// The outcomes of DESIGN §1.
const (
	OutcomeSuccess Outcome = "success"
	OutcomeFailure Outcome = "failure"
	OutcomeUnknown Outcome = "unknown"
)

// Outcomes lists every outcome.
var Outcomes = []Outcome{OutcomeSuccess, OutcomeFailure, OutcomeUnknown}

// Valid reports whether o is one of Outcomes.
func (o Outcome) Valid() bool { return oneOf(o, Outcomes) }

// ActorType is the kind of actor.
type ActorType string

// The actor types of DESIGN §1.
const (
	ActorUser    ActorType = "user"
	ActorService ActorType = "service"
	ActorAPIKey  ActorType = "api_key"
	ActorSystem  ActorType = "system"
)

// ActorTypes lists every actor type.
var ActorTypes = []ActorType{ActorUser, ActorService, ActorAPIKey, ActorSystem}

// Valid reports whether t is one of ActorTypes.
func (t ActorType) Valid() bool { return oneOf(t, ActorTypes) }

func oneOf[T ~string](v T, all []T) bool {
	for _, a := range all {
		if a == v {
			return true
		}
	}
	return false
}

func joinEnum[T ~string](all []T) string {
	s := make([]string, len(all))
	for i, v := range all {
		s[i] = string(v)
	}
	return strings.Join(s, ", ")
}
