"""The review desk (``callscore serve``): a small web app over the warehouse where supervisors
find any call, listen to it and confirm or overrule each of the machine's answers."""
