"""Resource kind: asg."""
