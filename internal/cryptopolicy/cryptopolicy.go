package cryptopolicy

import (
	"fmt"
	"slices"
	"time"
)

// Algorithm is a private key algorithm, as cert-manager names it.
type Algorithm string

const (
	RSA     Algorithm = "RSA"
	ECDSA   Algorithm = "ECDSA"
	Ed25519 Algorithm = "Ed25519"
)

// KeyRule allows one algorithm: RSA from MinSize bits, ECDSA on the listed curve sizes, Ed25519
// as it is.
type KeyRule struct {
	Algorithm Algorithm
	// MinSize is the smallest RSA modulus allowed, in bits.
	MinSize int
	// Sizes are the ECDSA curves allowed, by size: 256 (P-256), 384 (P-384), 521 (P-521).
	Sizes []int
}

// Key is a certificate's private key settings, cert-manager's defaults applied.
type Key struct {
	Algorithm Algorithm
	Size      int
}

// KeyOf applies cert-manager's defaults to a Certificate's privateKey settings: RSA when no
// algorithm is given; 2048 bits for RSA and P-256 for ECDSA when no size is.
func KeyOf(algorithm string, size int) Key {
	k := Key{Algorithm: Algorithm(algorithm), Size: size}
	if k.Algorithm == "" {
		k.Algorithm = RSA
	}
	if k.Size == 0 {
		switch k.Algorithm {
		case RSA:
			k.Size = 2048
		case ECDSA:
			k.Size = 256
		}
	}
	return k
}

func (k Key) String() string {
	switch k.Algorithm {
	case ECDSA:
		return fmt.Sprintf("ECDSA P-%d", k.Size)
	case Ed25519:
		return "Ed25519"
	}
	return fmt.Sprintf("%s %d", k.Algorithm, k.Size)
}

// CheckKey says whether a key is allowed by the rules and, when it is not, why, naming the rule.
func CheckKey(k Key, rules []KeyRule) error {
	if err := CheckANSSIFloor(k); err != nil {
		return err
	}
	for _, r := range rules {
		if r.Algorithm != k.Algorithm {
			continue
		}
		switch k.Algorithm {
		case RSA:
			if k.Size >= r.MinSize {
				return nil
			}
			return fmt.Errorf("%s is below the policy's minimum of RSA %d (FT-CLD-40)", k, r.MinSize)
		case ECDSA:
			if slices.Contains(r.Sizes, k.Size) {
				return nil
			}
			return fmt.Errorf("%s is not among the policy's curves %v (FT-CLD-40)", k, curveNames(r.Sizes))
		case Ed25519:
			return nil
		}
	}
	return fmt.Errorf("%s: the policy does not allow %s keys (FT-CLD-40)", k, k.Algorithm)
}

// CheckANSSIFloor refuses what ANSSI never accepts, whatever a policy says: RSA under 2048 bits,
// curves under 250 bits (P-224), unknown algorithms and curves.
func CheckANSSIFloor(k Key) error {
	switch k.Algorithm {
	case RSA:
		if k.Size < RSAFloor {
			return fmt.Errorf("%s is below ANSSI's floor of RSA %d (FT-CLD-40)", k, RSAFloor)
		}
	case ECDSA:
		if !slices.Contains(CompliantCurves, k.Size) {
			return fmt.Errorf("%s is not a curve ANSSI accepts (P-256, P-384, P-521) (FT-CLD-40)", k)
		}
	case Ed25519:
	default:
		return fmt.Errorf("key algorithm %q is unknown: use ECDSA, RSA or Ed25519 (FT-CLD-40)", k.Algorithm)
	}
	return nil
}

// CheckRules refuses a policy's own key rules when they fall below ANSSI's floor.
func CheckRules(rules []KeyRule) error {
	for _, r := range rules {
		switch r.Algorithm {
		case RSA:
			if r.MinSize < RSAFloor {
				return fmt.Errorf("an RSA minimum of %d is below ANSSI's floor of %d bits (FT-CLD-40)", r.MinSize, RSAFloor)
			}
		case ECDSA:
			for _, s := range r.Sizes {
				if !slices.Contains(CompliantCurves, s) {
					return fmt.Errorf("curve size %d is not a curve ANSSI accepts (256, 384, 521) (FT-CLD-40)", s)
				}
			}
		case Ed25519:
		default:
			return fmt.Errorf("key algorithm %q is unknown (FT-CLD-40)", r.Algorithm)
		}
	}
	return nil
}

// Deprecated reports a key ANSSI accepts today but not from a date on, such as RSA 2048 after 2030.
func Deprecated(k Key) (until time.Time, ok bool) {
	if k.Algorithm == RSA && k.Size < RSARecommended {
		return RSA2048Until, true
	}
	return time.Time{}, false
}

func curveNames(sizes []int) []string {
	out := make([]string, len(sizes))
	for i, s := range sizes {
		out[i] = fmt.Sprintf("P-%d", s)
	}
	return out
}

// Lifetime is a certificate's duration and renewBefore, cert-manager's defaults applied.
type Lifetime struct {
	Duration    time.Duration
	RenewBefore time.Duration
}

// LifetimeOf applies cert-manager's defaults: 90 days, renewed at two thirds of the duration.
func LifetimeOf(duration, renewBefore time.Duration) Lifetime {
	l := Lifetime{Duration: duration, RenewBefore: renewBefore}
	if l.Duration == 0 {
		l.Duration = 90 * 24 * time.Hour
	}
	if l.RenewBefore == 0 {
		l.RenewBefore = l.Duration / 3
	}
	return l
}

// CheckLifetime refuses a certificate living longer than maxDuration or renewing later than
// minRenewBefore before its end.
func CheckLifetime(l Lifetime, maxDuration, minRenewBefore time.Duration) error {
	if l.Duration > maxDuration {
		return fmt.Errorf("a duration of %s exceeds the policy's maximum of %s (FT-CLD-40)", l.Duration, maxDuration)
	}
	if l.RenewBefore < minRenewBefore {
		return fmt.Errorf("renewing %s before expiry is later than the policy's %s (FT-CLD-40)", l.RenewBefore, minRenewBefore)
	}
	return nil
}
