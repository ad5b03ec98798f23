from screens.cli import main

main()
