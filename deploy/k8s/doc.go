// Package k8s holds no code: it is the home of the Kubernetes manifests of dingq (base/, a kustomize
// base) and of the tests that keep them honest. Kubernetes and Helm ignore or reject a misspelt
// field only when the files are applied; the tests decode every manifest and the NATS chart's
// values (deploy/helm/nats-values.yaml) strictly, with the real API types where there are some,
// and check that the files agree with each other and with dingq's own settings.
package k8s
