"""hr-saas-infra: CDK for Terraform constructs and stacks for the HR SaaS platform."""
