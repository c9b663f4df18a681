package api

import (
	"encoding/json"

	"github.com/authnzrv/authnzrv/identity"
)

// jsonValue turns a stored JSON document into a value for the reply (null
// when NULL).
func jsonValue(j identity.JSON) any {
	if j == nil {
		return nil
	}
	var v any
	if err := json.Unmarshal(j, &v); err != nil {
		return nil
	}
	return v
}

func nullString(s *string) any {
	if s == nil {
		return nil
	}
	return *s
}

func failedTries(n *int64) any {
	if n == nil {
		return nil
	}
	return *n
}

// userInfo is the 16-key user_info object (never the password).
func userInfo(u *identity.User) map[string]any {
	return map[string]any{
		"user_id":                       u.UserID,
		"system_id":                     u.SystemID,
		"full_name":                     nullString(u.FullName),
		"email":                         u.Email,
		"email_verified":                u.EmailVerified,
		"is_active":                     u.IsActive,
		"last_login_try":                isoPtr(u.LastLoginTry),
		"last_login_success":            isoPtr(u.LastLoginSuccess),
		"failed_login_tries":            failedTries(u.FailedLoginTries),
		"created_on":                    isoformat(u.CreatedOn),
		"last_updated":                  isoformat(u.LastUpdated),
		"user_role":                     u.UserRole,
		"extra_info":                    jsonValue(u.ExtraInfo),
		"emailverify_sent_datetime":     isoPtr(u.EmailVerifySentDatetime),
		"emailforgotpass_sent_datetime": isoPtr(u.EmailForgotPassSentDatetime),
		"emailchangepass_sent_datetime": isoPtr(u.EmailChangePassSentDatetime),
	}
}

// sessionInfo is the 18-key session_info object of session-exists.
func sessionInfo(token string, si *identity.SessionInfo) map[string]any {
	u, s := &si.User, &si.Session
	return map[string]any{
		"user_id":                   u.UserID,
		"system_id":                 u.SystemID,
		"full_name":                 nullString(u.FullName),
		"email":                     u.Email,
		"extra_info":                jsonValue(u.ExtraInfo),
		"email_verified":            u.EmailVerified,
		"emailverify_sent_datetime": isoPtr(u.EmailVerifySentDatetime),
		"is_active":                 u.IsActive,
		"last_login_try":            isoPtr(u.LastLoginTry),
		"last_login_success":        isoPtr(u.LastLoginSuccess),
		"created_on":                isoformat(u.CreatedOn),
		"user_role":                 u.UserRole,
		"session_token":             token,
		"ip_address":                s.IPAddress,
		"user_agent":                s.UserAgent,
		"created":                   isoformat(s.Created),
		"expires":                   isoformat(s.Expires),
		"extra_info_json":           jsonValue(s.ExtraInfoJSON),
	}
}

// mergeExtra applies an update dict to a stored JSON object with the
// reference's "__delete__" rule (actions.md §9.3 step 4).
func mergeExtra(stored identity.JSON, update map[string]any) map[string]any {
	m := stored.Object()
	for k, v := range update {
		if s, ok := v.(string); ok && s == "__delete__" {
			if _, has := m[k]; has {
				delete(m, k)
				continue
			}
		}
		m[k] = v
	}
	return m
}
