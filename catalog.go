package hashtrail

import "strings"

// CatalogEntry describes one action of the standard event catalog.
type CatalogEntry struct {
	Action      string   `json:"action"`
	Category    Category `json:"category"`
	Description string   `json:"description"`
}

// Catalog is the standard event catalog: well-known actions and the category
// an event with that action gets when it names none. SDKs offer helpers for
// each entry.
var Catalog = []CatalogEntry{
	{"user.login", CategoryAuthentication, "a user signed in"},
	{"user.logout", CategoryAuthentication, "a user signed out"},
	{"user.login_failed", CategoryAuthentication, "a sign-in attempt failed"},
	{"user.mfa_enable", CategoryAuthentication, "a user turned on two-factor authentication"},
	{"user.mfa_disable", CategoryAuthentication, "a user turned off two-factor authentication"},
	{"user.password_change", CategoryAuthentication, "a user changed their password"},
	{"user.password_reset", CategoryAuthentication, "a user reset their password"},
	{"user.create", CategoryAccount, "an account was created"},
	{"user.update", CategoryAccount, "an account was changed"},
	{"user.delete", CategoryAccount, "an account was deleted"},
	{"user.email_change", CategoryAccount, "a user changed their email address"},
	{"role.assign", CategoryAuthorization, "a role was given to someone"},
	{"role.unassign", CategoryAuthorization, "a role was taken from someone"},
	{"role.permission_grant", CategoryAuthorization, "a permission was added to a role"},
	{"role.permission_revoke", CategoryAuthorization, "a permission was removed from a role"},
	{"member.add", CategoryAuthorization, "a member was added"},
	{"member.remove", CategoryAuthorization, "a member was removed"},
	{"api_key.create", CategorySecurity, "an API key was created"},
	{"api_key.revoke", CategorySecurity, "an API key was revoked"},
	{"access.request", CategoryAccess, "access was requested"},
	{"access.grant", CategoryAccess, "access was granted"},
	{"access.deny", CategoryAccess, "access was denied"},
	{"project.create", CategoryResource, "a project was created"},
	{"project.update", CategoryResource, "a project was changed"},
	{"project.delete", CategoryResource, "a project was deleted"},
	{"app.env_var_add", CategoryConfiguration, "an environment variable was added"},
	{"app.env_var_change", CategoryConfiguration, "an environment variable was changed"},
	{"app.env_var_remove", CategoryConfiguration, "an environment variable was removed"},
	{"app.deploy", CategoryResource, "an application was deployed"},
	{"settings.update", CategoryConfiguration, "settings were changed"},
	{"data.export", CategoryData, "data was exported"},
	{"data.read", CategoryData, "data was read"},
	{"system.subject_erased", CategorySystem, "a person's personal data was erased"},
	{"system.retention_purge", CategorySystem, "events past their retention were purged"},
}

var catalogIndex = func() map[string]Category {
	m := make(map[string]Category, len(Catalog))
	for _, e := range Catalog {
		m[e.Action] = e.Category
	}
	return m
}()

// DefaultCategory returns the category for an action that names none: the
// catalog's, else one implied by the object ("user.*" is account), else resource.
func DefaultCategory(action string) Category {
	if c, ok := catalogIndex[action]; ok {
		return c
	}
	obj, _, _ := strings.Cut(action, ".")
	switch obj {
	case "auth", "session", "login", "mfa":
		return CategoryAuthentication
	case "role", "permission", "member", "membership":
		return CategoryAuthorization
	case "user", "account":
		return CategoryAccount
	case "settings", "config":
		return CategoryConfiguration
	case "system":
		return CategorySystem
	}
	return CategoryResource
}
