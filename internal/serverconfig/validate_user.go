// Copyright 2026 The pier authors.
//
// Licensed under the Apache License, Version 2.0 (the "License");
// you may not use this file except in compliance with the License.
// You may obtain a copy of the License at
//
//     http://www.apache.org/licenses/LICENSE-2.0
//
// Unless required by applicable law or agreed to in writing, software
// distributed under the License is distributed on an "AS IS" BASIS,
// WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
// See the License for the specific language governing permissions and
// limitations under the License.

package serverconfig

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/ssh"
)

// Username rules, the same as TransferUser's.
const (
	minUsernameLength = 3
	maxUsernameLength = 100
)

// maxHomeDirectoryLength is TransferUser's limit on homeDirectory.
const maxHomeDirectoryLength = 1024

var usernameRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.@-]*$`)

// singlePermissions are the permissions that are not presets.
var singlePermissions = []Permission{
	PermissionList, PermissionDownload, PermissionUpload, PermissionOverwrite, PermissionDelete, PermissionRename,
	PermissionMkdir,
}

// Validate reports every problem of the user alone, with field paths relative to the user, or nil. The operator can
// call it on each user it renders and leave out (and report) a bad one, instead of writing a file the server
// would refuse as a whole. Config.Validate checks the same rules, and that usernames are unique.
func (u *User) Validate() error {
	var errs errorList
	u.validate(&errs, "")
	return errors.Join(errs...)
}

func (c *Config) validateUsers(errs *errorList) {
	first := make(map[string]int, len(c.Users))
	for i := range c.Users {
		u := &c.Users[i]
		path := userPath(i, u.Username)
		u.validate(errs, path)
		if u.Username == "" {
			continue
		}
		if j, seen := first[u.Username]; seen {
			errs.add(child(path, "username"), "already used by users[%d]", j)
		} else {
			first[u.Username] = i
		}
	}
}

// userPath names user i in error messages by index and name: users[2] (alice).
func userPath(i int, username string) string {
	p := index("users", i)
	switch {
	case username == "":
		return p
	case usernameRE.MatchString(username) && len(username) <= maxUsernameLength:
		return p + " (" + username + ")"
	default:
		return p + " (" + strconv.Quote(truncate(username)) + ")"
	}
}

func (u *User) validate(errs *errorList, path string) {
	validateUsername(errs, child(path, "username"), u.Username)
	if u.PasswordHash != "" {
		if cost, err := BcryptCost([]byte(u.PasswordHash)); err != nil {
			// Never quote the value: it may be a plaintext password.
			errs.add(child(path, "passwordHash"), "%v", ErrNotBcryptHash)
		} else if cost > MaxBcryptCost {
			// Every login attempt for this user, including an attacker's guesses, would cost that much CPU.
			errs.add(child(path, "passwordHash"), "bcrypt cost %d is above %d: each login would take seconds of CPU; "+
				"hash the password again with a lower cost", cost, MaxBcryptCost)
		}
	}
	for i, key := range u.AuthorizedKeys {
		if err := checkAuthorizedKey(key); err != nil {
			errs.add(index(child(path, "authorizedKeys"), i), "%v", err)
		}
	}
	if u.HomeDirectory != "" {
		field := child(path, "homeDirectory")
		if len(u.HomeDirectory) > maxHomeDirectoryLength {
			errs.add(field, "longer than %d bytes", maxHomeDirectoryLength)
		} else {
			checkPath(errs, field, u.HomeDirectory)
		}
	}
	u.validatePermissions(errs, child(path, "permissions"))
	checkEnumList(errs, child(path, "protocols"), u.Protocols,
		[]Protocol{ProtocolSFTP, ProtocolFTP}, "a protocol (want sftp or ftp)")
	validateCIDRs(errs, child(path, "allowedSourceRanges"), u.AllowedSourceRanges)

	// A disabled user needs no credentials: the operator disables a user whose password Secret went missing.
	switch {
	case u.Disabled:
	case u.PasswordHash == "" && len(u.AuthorizedKeys) == 0:
		errs.add(path, "cannot log in: set passwordHash, authorizedKeys or both (or disabled: true)")
	case u.PasswordHash == "" && slices.Contains(u.Protocols, ProtocolFTP):
		errs.add(child(path, "protocols"), "ftp needs a passwordHash: FTP logs in with a password only")
	case u.RequireAllAuthMethods && (u.PasswordHash == "" || len(u.AuthorizedKeys) == 0):
		errs.add(child(path, "requireAllAuthMethods"), "needs both passwordHash and authorizedKeys")
	}
}

func validateUsername(errs *errorList, field, name string) {
	switch {
	case name == "":
		errs.add(field, "required")
	case len(name) < minUsernameLength || len(name) > maxUsernameLength:
		errs.add(field, "%q must be %d to %d characters long", truncate(name), minUsernameLength, maxUsernameLength)
	case !usernameRE.MatchString(name):
		errs.add(field, "%q may contain only letters, digits, '_', '.', '@' and '-', and must not start with '-', '.' or '@'", name)
	}
}

func (u *User) validatePermissions(errs *errorList, field string) {
	for i, p := range u.Permissions {
		_, preset := presets[p]
		switch {
		case preset && len(u.Permissions) > 1:
			errs.add(index(field, i), "preset %s must be the only entry; list single permissions to combine them", p)
		case !preset && !slices.Contains(singlePermissions, p):
			errs.add(index(field, i), "%q is not a permission (want list, download, upload, overwrite, delete, rename, mkdir, "+
				"or one preset: ReadWrite, ReadOnly or UploadOnly)", p)
		case slices.Contains(u.Permissions[:i], p):
			errs.add(index(field, i), "%q is listed twice", p)
		}
	}
}

// checkAuthorizedKey checks one authorized_keys line: optional options, key type, base64 key, optional comment.
func checkAuthorizedKey(line string) error {
	if !utf8.ValidString(line) {
		return errors.New("not valid UTF-8")
	}
	if strings.ContainsAny(line, "\r\n") {
		return errors.New("must be a single authorized_keys line; put each key in its own entry")
	}
	if strings.ContainsFunc(line, func(r rune) bool { return isControl(r) && r != '\t' }) {
		return errors.New("contains control characters")
	}
	key, _, _, _, err := ssh.ParseAuthorizedKey([]byte(line))
	if err != nil {
		return fmt.Errorf("invalid public key: %w", err)
	}
	if !KeyTypeAccepted(key.Type()) {
		return fmt.Errorf("key type %s is not accepted (want one of %s)", key.Type(), strings.Join(acceptedKeyTypes, ", "))
	}
	return nil
}
