package patkit

// NewTestPrincipal builds a Principal directly, for the policy tests of
// package patkit_test, which need principals (blocked users, say) that no
// Service would make.
func NewTestPrincipal(u *User, t *Token, admin bool) *Principal {
	return &Principal{user: u, token: t, admin: admin}
}

// UnknownSecret returns a well-formed secret of svc that no token has.
func UnknownSecret(svc *Service) string {
	s, err := newSecret(svc.opts.Prefix, svc.opts.Rand)
	if err != nil {
		panic(err)
	}
	return s
}
