"""Jurisdictions of accreditations: EU Publications Office authority-table IRIs, matched to an issuer's country.

EBSI accreditations limit the jurisdiction of what they accredit (``accreditedFor[].limitJurisdiction``) with IRIs of
the EU Publications Office's named authority lists: countries (``…/authority/country/FIN``) or administrative
territorial units (``…/authority/atu/FIN``), both keyed by ISO 3166-1 alpha-3 codes. A credential names its issuer's
country with an alpha-2 code (OB 3.0 ``addressCountryCode``), hence the table below. Pure: no I/O.
"""

from __future__ import annotations

import re

# ISO 3166-1 alpha-2 -> alpha-3, all 249 officially assigned codes (dumped from pycountry 24.6.1), as AAaaa pairs.
_PAIRS = (
    "ADAND AEARE AFAFG AGATG AIAIA ALALB AMARM AOAGO AQATA ARARG ASASM ATAUT AUAUS AWABW AXALA AZAZE BABIH BBBRB "
    "BDBGD BEBEL BFBFA BGBGR BHBHR BIBDI BJBEN BLBLM BMBMU BNBRN BOBOL BQBES BRBRA BSBHS BTBTN BVBVT BWBWA BYBLR "
    "BZBLZ CACAN CCCCK CDCOD CFCAF CGCOG CHCHE CICIV CKCOK CLCHL CMCMR CNCHN COCOL CRCRI CUCUB CVCPV CWCUW CXCXR "
    "CYCYP CZCZE DEDEU DJDJI DKDNK DMDMA DODOM DZDZA ECECU EEEST EGEGY EHESH ERERI ESESP ETETH FIFIN FJFJI FKFLK "
    "FMFSM FOFRO FRFRA GAGAB GBGBR GDGRD GEGEO GFGUF GGGGY GHGHA GIGIB GLGRL GMGMB GNGIN GPGLP GQGNQ GRGRC GSSGS "
    "GTGTM GUGUM GWGNB GYGUY HKHKG HMHMD HNHND HRHRV HTHTI HUHUN IDIDN IEIRL ILISR IMIMN ININD IOIOT IQIRQ IRIRN "
    "ISISL ITITA JEJEY JMJAM JOJOR JPJPN KEKEN KGKGZ KHKHM KIKIR KMCOM KNKNA KPPRK KRKOR KWKWT KYCYM KZKAZ LALAO "
    "LBLBN LCLCA LILIE LKLKA LRLBR LSLSO LTLTU LULUX LVLVA LYLBY MAMAR MCMCO MDMDA MEMNE MFMAF MGMDG MHMHL MKMKD "
    "MLMLI MMMMR MNMNG MOMAC MPMNP MQMTQ MRMRT MSMSR MTMLT MUMUS MVMDV MWMWI MXMEX MYMYS MZMOZ NANAM NCNCL NENER "
    "NFNFK NGNGA NINIC NLNLD NONOR NPNPL NRNRU NUNIU NZNZL OMOMN PAPAN PEPER PFPYF PGPNG PHPHL PKPAK PLPOL PMSPM "
    "PNPCN PRPRI PSPSE PTPRT PWPLW PYPRY QAQAT REREU ROROU RSSRB RURUS RWRWA SASAU SBSLB SCSYC SDSDN SESWE SGSGP "
    "SHSHN SISVN SJSJM SKSVK SLSLE SMSMR SNSEN SOSOM SRSUR SSSSD STSTP SVSLV SXSXM SYSYR SZSWZ TCTCA TDTCD TFATF "
    "TGTGO THTHA TJTJK TKTKL TLTLS TMTKM TNTUN TOTON TRTUR TTTTO TVTUV TWTWN TZTZA UAUKR UGUGA UMUMI USUSA UYURY "
    "UZUZB VAVAT VCVCT VEVEN VGVGB VIVIR VNVNM VUVUT WFWLF WSWSM YEYEM YTMYT ZAZAF ZMZMB ZWZWE "
)
ALPHA3: dict[str, str] = {pair[:2]: pair[2:] for pair in _PAIRS.split()}

_AUTHORITY_IRI = re.compile(r"https?://publications\.europa\.eu/resource/authority/(country|atu)/([A-Z]{3})")


def country_iri(alpha2: str) -> str:
    """The Publications Office country IRI of an ISO alpha-2 code (ValueError for an unassigned code)."""
    try:
        return f"http://publications.europa.eu/resource/authority/country/{ALPHA3[alpha2]}"
    except KeyError:
        raise ValueError(f"{alpha2!r} is not an assigned ISO 3166-1 alpha-2 country code") from None


def covers(jurisdiction: str, alpha2: str) -> bool:
    """Whether one ``limitJurisdiction`` IRI covers an issuer in country ``alpha2``."""
    match = _AUTHORITY_IRI.fullmatch(jurisdiction)
    return bool(match) and ALPHA3.get(alpha2) == match.group(2)


def readable(jurisdictions: list[str]) -> str:
    """'FIN, DEU' for a list of authority IRIs (other IRIs as they are)."""
    out = []
    for j in jurisdictions:
        match = _AUTHORITY_IRI.fullmatch(j)
        out.append(match.group(2) if match else j)
    return ", ".join(out) or "none"
