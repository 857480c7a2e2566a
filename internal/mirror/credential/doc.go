// Package credential provides the mirror target's write credential: the token the
// mirror worker sends when it publishes to the registry the operator owns.
//
// Three providers match MIRROR_TARGET_CREDENTIAL_PROVIDER: Static (a fixed token,
// MIRROR_TARGET_TOKEN), CodeArtifact (a token minted with GetAuthorizationToken under
// the SDK's default credential chain, cached and renewed before it expires) and
// GCPArtifactRegistry (an OAuth access token from Application Default Credentials,
// renewed by its token source).
//
// The package must not: log, print or put a token into an error (tokens travel as
// redact.Secret and leave the process only in the worker's Authorization header); read
// configuration itself (the composition root passes options); or route the cloud SDKs'
// own credential traffic (instance metadata, STS, the GCP metadata server) through the
// egress guard, which would refuse those internal addresses. Every SDK type stays in
// this package; callers see Provider only.
package credential
