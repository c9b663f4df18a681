package identity

import (
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// JSON is a JSON document stored in a JSON (SQLite: TEXT, PostgreSQL: JSONB)
// column. A nil JSON is SQL NULL.
type JSON []byte

// Value implements driver.Valuer.
func (j JSON) Value() (driver.Value, error) {
	if j == nil {
		return nil, nil
	}
	return string(j), nil
}

// Scan implements sql.Scanner.
func (j *JSON) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*j = nil
	case string:
		*j = JSON(v)
	case []byte:
		*j = append(JSON(nil), v...)
	default:
		return fmt.Errorf("identity: cannot scan %T into JSON", src)
	}
	return nil
}

// Object decodes the document as a JSON object; NULL or a non-object gives
// an empty map.
func (j JSON) Object() map[string]any {
	m := map[string]any{}
	if len(j) > 0 {
		_ = json.Unmarshal(j, &m)
	}
	if m == nil {
		m = map[string]any{}
	}
	return m
}

// MarshalObject encodes m as a JSON document.
func MarshalObject(m map[string]any) (JSON, error) {
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("identity: encode JSON: %w", err)
	}
	return JSON(b), nil
}

// Role is a row of the roles table.
type Role struct {
	bun.BaseModel `bun:"table:roles"`

	Name string `bun:"name,pk"`
	Desc string `bun:"desc"`
}

// User is a row of the users table.
type User struct {
	bun.BaseModel `bun:"table:users"`

	UserID                      int64      `bun:"user_id,pk,autoincrement"`
	SystemID                    string     `bun:"system_id"`
	FullName                    *string    `bun:"full_name"`
	Password                    string     `bun:"password"`
	Email                       string     `bun:"email"`
	EmailVerified               bool       `bun:"email_verified"`
	IsActive                    bool       `bun:"is_active"`
	EmailVerifySentDatetime     *time.Time `bun:"emailverify_sent_datetime"`
	EmailForgotPassSentDatetime *time.Time `bun:"emailforgotpass_sent_datetime"`
	EmailChangePassSentDatetime *time.Time `bun:"emailchangepass_sent_datetime"`
	LastLoginSuccess            *time.Time `bun:"last_login_success"`
	LastLoginTry                *time.Time `bun:"last_login_try"`
	FailedLoginTries            *int64     `bun:"failed_login_tries"`
	ExtraInfo                   JSON       `bun:"extra_info"`
	CreatedOn                   time.Time  `bun:"created_on"`
	LastUpdated                 time.Time  `bun:"last_updated"`
	UserRole                    string     `bun:"user_role"`
}

// Session is a row of the sessions table. The token itself is never stored:
// TokenHash is its SHA-256 digest in hex.
type Session struct {
	bun.BaseModel `bun:"table:sessions"`

	TokenHash     string    `bun:"token_hash,pk"`
	IPAddress     string    `bun:"ip_address"`
	UserAgent     string    `bun:"user_agent"`
	UserID        int64     `bun:"user_id"`
	Created       time.Time `bun:"created"`
	Expires       time.Time `bun:"expires"`
	ExtraInfoJSON JSON      `bun:"extra_info_json"`
}

// SessionInfo is a live session joined with its user.
type SessionInfo struct {
	Session Session
	User    User
}
